"""The networks (nn.Modules): image backbones, text encoders, DA-CLIP, regression heads."""
