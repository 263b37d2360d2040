"""Networks: image backbones, text encoders, DA-CLIP and heads (nn.Modules, no training loop)."""
