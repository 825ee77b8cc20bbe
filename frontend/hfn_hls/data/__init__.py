"""Data sets: scikit-learn's digits (built in) and CIFAR-10/100 from a local directory."""
from .datasets import load_dataset, DataSplit

__all__ = ["load_dataset", "DataSplit"]
