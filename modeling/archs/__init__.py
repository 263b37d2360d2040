"""The networks: backbones built by timm name, text encoders, DA-CLIP and the regression heads."""
