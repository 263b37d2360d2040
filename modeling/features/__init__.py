"""Hand-crafted features of face crops (numpy, scipy and OpenCV only, no torch) and their on-disk cache."""
