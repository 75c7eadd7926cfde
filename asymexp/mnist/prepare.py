"""Images in the form the fused kernels read: sparse raw pixels (CSR) instead of dense normalized inputs.

The network sees x = (p - 0.1307) / 0.3081 with p = pixel / 255 in [0, 1] (the authors' normalization). Since
about 80% of MNIST pixels are 0, the kernels store v = p / 0.3081 sparsely and apply the constant shift
c = 0.1307 / 0.3081 algebraically (see :mod:`asymexp.mnist.epoch_kernel`).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from asymexp.errors import DataError
from asymexp.inputs.datasets import MNIST_MEAN, MNIST_STD, load

SHIFT = MNIST_MEAN / MNIST_STD


@dataclass(frozen=True)
class SparseImages:
    """CSR images: ``indptr (n+1,) int64``, ``indices (nnz,) int32``, ``values (nnz,)`` = p / sd in the
    trainer's dtype, ``vsum (n,) float64`` = sum of each image's values, ``labels (n,) int64``, ``dim`` = 784."""

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    vsum: np.ndarray
    labels: np.ndarray
    dim: int

    @property
    def n(self) -> int:
        return int(self.labels.shape[0])

    def dense(self) -> np.ndarray:
        """The normalized inputs x = v - c as a dense float64 array (n, dim) (for tests and baselines)."""
        x = np.full((self.n, self.dim), -SHIFT)
        for i in range(self.n):
            lo, hi = self.indptr[i], self.indptr[i + 1]
            x[i, self.indices[lo:hi]] += self.values[lo:hi]
        return x


def sparse_images(images, labels, dtype="float32") -> SparseImages:
    """uint8 images (n, 28, 28) or (n, 784) and labels (n,) -> :class:`SparseImages`."""
    images = np.asarray(images)
    flat = images.reshape(images.shape[0], -1)
    rows, cols = np.nonzero(flat)
    indptr = np.zeros(flat.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=flat.shape[0]), out=indptr[1:])
    v64 = flat[rows, cols].astype(np.float64) / 255.0 / MNIST_STD
    values = v64.astype(dtype)
    vsum = np.zeros(flat.shape[0])
    np.add.at(vsum, rows, values.astype(np.float64))
    return SparseImages(indptr, cols.astype(np.int32), values, vsum, np.asarray(labels, dtype=np.int64),
                        flat.shape[1])


@lru_cache(maxsize=8)
def load_sparse(dataset: str = "mnist", data_dir=None, dtype: str = "float32", n_train: int | None = None,
                n_test: int | None = None) -> tuple[SparseImages, SparseImages, str]:
    """Load a dataset (:func:`asymexp.inputs.datasets.load`) as ``(train, test, source)``, optionally only the first
    ``n_train`` / ``n_test`` images of each part (file order). Cached per process."""
    ds = load(dataset, data_dir)
    parts = []
    for images, labels, n, what in ((ds.train_images, ds.train_labels, n_train, "n_train"),
                                    (ds.test_images, ds.test_labels, n_test, "n_test")):
        if n is not None:
            if not 1 <= n <= images.shape[0]:
                raise DataError(f"{what} = {n} is not allowed; 1..{images.shape[0]} images are available")
            images, labels = images[:n], labels[:n]
        parts.append(sparse_images(images, labels, dtype))
    return parts[0], parts[1], ds.source
