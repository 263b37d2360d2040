"""Realism models (DA-CLIP and the baselines) trained on exported labels."""
