"""Data sets as float tensors in [0, 1], NCHW.

- ``digits``: scikit-learn's ``load_digits`` (1797 8x8 images, 17 grey levels), pixels
  divided by 16.  Fixed split: ``train_test_split(test_size=0.2, stratify=y,
  random_state=0)`` -> 1437 train, 360 test images.
- ``cifar10`` / ``cifar100``: the standard python archives (``cifar-10-batches-py`` /
  ``cifar-100-python``) extracted under ``--data-dir``; nothing is downloaded.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import HfnError


@dataclass
class DataSplit:
    x_train: np.ndarray   # float32 (N, C, H, W) in [0, 1]
    y_train: np.ndarray   # int64 (N,)
    x_test: np.ndarray
    y_test: np.ndarray
    classes: int


def load_digits_split() -> DataSplit:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None]
    y = d.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
    return DataSplit(xtr, ytr, xte, yte, 10)


def _unpickle(p: Path) -> dict:
    with open(p, "rb") as f:
        return pickle.load(f, encoding="latin1")


def load_cifar(name: str, data_dir: str | Path | None) -> DataSplit:
    if data_dir is None:
        raise HfnError(f"--dataset {name}", "needs a local copy of the data set",
                       "pass --data-dir DIR holding the extracted python archive; "
                       "nothing is downloaded")
    root = Path(data_dir)
    sub = "cifar-10-batches-py" if name == "cifar10" else "cifar-100-python"
    base = root / sub if (root / sub).is_dir() else root
    if name == "cifar10":
        train_files = [base / f"data_batch_{i}" for i in range(1, 6)]
        test_files, key, classes = [base / "test_batch"], "labels", 10
    else:
        train_files, test_files, key, classes = [base / "train"], [base / "test"], "fine_labels", 100
    missing = [str(p) for p in train_files + test_files if not p.is_file()]
    if missing:
        raise HfnError(str(root), f"{name} archive not found (missing {missing[0]})",
                       f"extract the standard python version of {name} into this directory")

    def read(files):
        xs, ys = [], []
        for f in files:
            d = _unpickle(f)
            xs.append(np.asarray(d["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            ys.append(np.asarray(d[key], dtype=np.int64))
        return (np.concatenate(xs).astype(np.float32) / 255.0), np.concatenate(ys)

    xtr, ytr = read(train_files)
    xte, yte = read(test_files)
    return DataSplit(xtr, ytr, xte, yte, classes)


def load_dataset(name: str, data_dir: str | Path | None = None) -> DataSplit:
    if name == "digits":
        return load_digits_split()
    if name in ("cifar10", "cifar100"):
        return load_cifar(name, data_dir)
    raise HfnError(f"--dataset {name}", "no loader for this data set here",
                   "train on digits, cifar10 or cifar100")
