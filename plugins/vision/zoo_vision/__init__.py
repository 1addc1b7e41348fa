"""zoo-vision: image classification datasets, timm backbones and recipes."""
__version__ = "0.1.0"
