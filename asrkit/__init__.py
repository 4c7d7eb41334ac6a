"""asrkit: self-supervised speech pre-training and speech recognition."""
__version__ = "0.1.0"
