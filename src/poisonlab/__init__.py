"""poisonlab: investigate data poisoning of classic machine-learning models."""

__version__ = "0.1.0"
