"""MNIST-family data: a strict IDX reader, the embedded MNIST copy, user directories, Fashion-MNIST.

Sources, in order of use:

- ``mnist`` without a directory: the embedded official MNIST *test* set (10,000 digits; Y. LeCun, C. Cortes,
  C. J. C. Burges, CC BY-SA 3.0), shipped as package data and md5-verified at load. It is split
  deterministically into 8,000 train / 2,000 test digits by index: digit ``i`` goes to the test part when
  ``i % 5 == 4``, so both parts mix the two writer populations of the official file (its first and second
  halves come from different writers).
- ``mnist`` with ``data_dir`` (argument, or the ``ASYMEXP_DATA`` environment variable): the four standard
  files (``train-images-idx3-ubyte[.gz]`` ...). A directory holding only the two ``t10k`` files is used like the
  embedded copy (same split).
- ``fashion-mnist``: ``data_dir`` if given, else the folder that Debian's ``dataset-fashion-mnist`` package
  installs (``/usr/share/datasets/fashion-mnist``).

Files compressed with gzip are checked against known md5 sums (the official distribution's, and Debian's
repacked Fashion-MNIST); a file whose md5 is unknown is read and verified structurally, and reported with
``md5_ok: false``. Arrays: images ``uint8 (n, 28, 28)``, labels ``uint8 (n,)``.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from asymexp.errors import DataError

MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
DATASETS = ("mnist", "fashion-mnist")
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
KNOWN_MD5 = {  # md5 of the .gz files: official distributions, and Debian's repack of Fashion-MNIST
    "mnist": {
        "train-images-idx3-ubyte.gz": {"f68b3c2dcbeaaa9fbdd348bbdeb94873"},
        "train-labels-idx1-ubyte.gz": {"d53e105ee54ea40749a09fcbcd1e9432"},
        "t10k-images-idx3-ubyte.gz": {"9fb629c4189551a2d022fa330f9573f3"},
        "t10k-labels-idx1-ubyte.gz": {"ec29112dd5afa0611ce80d1b7f02629c"},
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": {"8d4fb7e6c68d591d4c3dfef9ec88bf0d", "cf8536b0aa1a6ac5fa3f23001093305c"},
        "train-labels-idx1-ubyte.gz": {"25c81989df183df01b3e8a0aad5dffbe", "10bea18fdb374794d4bb42e356e600c9"},
        "t10k-images-idx3-ubyte.gz": {"bef4ecab320f06d8554ea6380940ec79", "f78720b4224f21cce2f2ccf2d7a94c9a"},
        "t10k-labels-idx1-ubyte.gz": {"bb300cfdad3c16e7a12a480ee83cd310", "0d30e22e447f3c33dab9ed536400ac01"},
    },
}
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
_IDX_DTYPES = {0x08: ("u1", 1), 0x09: ("i1", 1), 0x0B: (">i2", 2), 0x0C: (">i4", 4), 0x0D: (">f4", 4),
               0x0E: (">f8", 8)}


class IDXError(DataError):
    """A file that is not a well-formed IDX file (names the file and the defect)."""


def parse_idx(payload: bytes, name: str = "<bytes>"):
    """Parse IDX bytes strictly into a NumPy array.

    Checks the magic number (two zero bytes, a known dtype code, 1..4 dimensions), that every dimension is
    positive, and that the payload length equals the product of the dimensions times the item size.
    Raises :class:`IDXError` naming ``name`` and the defect; never another exception type.
    """
    import numpy as np

    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise IDXError(f"{name}: expected bytes, got {type(payload).__name__}")
    payload = bytes(payload)
    if len(payload) < 4:
        raise IDXError(f"{name}: truncated: {len(payload)} bytes, shorter than the 4-byte IDX magic number")
    if payload[0] != 0 or payload[1] != 0:
        raise IDXError(f"{name}: bad magic number {payload[:4].hex()}: an IDX file starts with two zero bytes")
    code, ndim = payload[2], payload[3]
    if code not in _IDX_DTYPES:
        raise IDXError(f"{name}: unknown IDX dtype code 0x{code:02x}; allowed: "
                       + ", ".join(f"0x{c:02x}" for c in _IDX_DTYPES))
    if not 1 <= ndim <= 4:
        raise IDXError(f"{name}: {ndim} dimensions; IDX files here have 1 to 4")
    header = 4 + 4 * ndim
    if len(payload) < header:
        raise IDXError(f"{name}: truncated header: {len(payload)} bytes, {header} needed for {ndim} dimensions")
    dims = [int.from_bytes(payload[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    if any(d == 0 for d in dims):
        raise IDXError(f"{name}: a dimension is zero: {dims}")
    dtype, size = _IDX_DTYPES[code]
    expected = size
    for d in dims:
        expected *= d
    got = len(payload) - header
    if got < expected:
        raise IDXError(f"{name}: truncated: {got} payload bytes, {expected} expected for shape {tuple(dims)}")
    if got > expected:
        raise IDXError(f"{name}: {got - expected} trailing bytes after the {expected} expected for shape "
                       f"{tuple(dims)}")
    return np.frombuffer(payload, dtype=dtype, count=expected // size, offset=header).reshape(dims)


def read_idx(path) -> tuple:
    """Read an IDX file (raw, or gzip when the name ends in .gz); returns ``(array, md5 of the file bytes)``."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise IDXError(f"{path}: no such file") from None
    except OSError as exc:
        raise IDXError(f"{path}: cannot be read: {exc.strerror}") from None
    md5 = hashlib.md5(raw).hexdigest()
    payload = raw
    if path.suffix == ".gz":
        try:
            payload = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise IDXError(f"{path}: corrupt or truncated gzip data ({exc})") from None
    return parse_idx(payload, str(path)), md5


@dataclass(frozen=True)
class Dataset:
    """Images (uint8, n x 28 x 28) and labels (uint8, n) of a train and a test part, with their provenance."""

    name: str
    source: str
    train_images: object
    train_labels: object
    test_images: object
    test_labels: object
    md5_ok: bool
    files: tuple

    def summary(self) -> dict:
        """The JSON document of ``asymexp data``."""
        return {"dataset": self.name, "source": self.source,
                "train": {"n": int(self.train_images.shape[0]), "shape": list(self.train_images.shape[1:])},
                "test": {"n": int(self.test_images.shape[0]), "shape": list(self.test_images.shape[1:])},
                "md5_ok": self.md5_ok, "files": list(self.files)}

    def arrays(self, dtype="float32", normalize: bool = True):
        """Flattened inputs and labels: ``(x_train (n, 784), y_train (n,), x_test, y_test)``.

        With ``normalize`` pixels p in [0, 1] become (p - 0.1307) / 0.3081 (the MNIST statistics, used for
        every dataset here as the paper does)."""
        out = []
        for images, labels in ((self.train_images, self.train_labels), (self.test_images, self.test_labels)):
            x = images.reshape(images.shape[0], -1).astype(dtype) / 255.0
            if normalize:
                x = (x - MNIST_MEAN) / MNIST_STD
            out += [x.astype(dtype), labels.astype("int64")]
        return tuple(out)


def one_hot(labels, classes: int = 10, dtype="float32"):
    """One-hot rows: (n,) integer labels -> (n, classes)."""
    import numpy as np

    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise DataError(f"labels must lie in 0..{classes - 1}; found {labels.min()}..{labels.max()}")
    out = np.zeros((labels.shape[0], classes), dtype=dtype)
    out[np.arange(labels.shape[0]), labels] = 1
    return out


def split_test_set(images, labels):
    """The documented 8,000 / 2,000 split of a 10,000-digit set: index i is test when i % 5 == 4."""
    import numpy as np

    idx = np.arange(images.shape[0])
    test = idx % 5 == 4
    return images[~test], labels[~test], images[test], labels[test]


def _find(directory: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        if (directory / name).is_file():
            return directory / name
    return None


def _read_checked(path: Path, dataset: str, kind: str):
    arr, md5 = read_idx(path)
    want_ndim = 3 if "images" in kind else 1
    if arr.ndim != want_ndim or (want_ndim == 3 and arr.shape[1:] != (28, 28)):
        raise IDXError(f"{path}: shape {arr.shape} is not that of {kind.replace('_', ' ')} "
                       f"({'n x 28 x 28' if want_ndim == 3 else 'n'})")
    if arr.dtype.str != "|u1":
        raise IDXError(f"{path}: dtype {arr.dtype} is not unsigned bytes")
    if kind.endswith("labels") and arr.size and arr.max() > 9:
        raise IDXError(f"{path}: label {int(arr.max())} is outside 0..9")
    known = KNOWN_MD5[dataset].get(path.name)
    return arr, (known is not None and md5 in known)


def _load_dir(directory: Path, dataset: str, source: str) -> Dataset:
    found = {kind: _find(directory, stem) for kind, stem in FILES.items()}
    arrays, oks = {}, []
    for kind, path in found.items():  # read what is present first: a corrupt file beats a missing one
        if path is not None:
            arrays[kind], ok = _read_checked(path, dataset, kind)
            oks.append(ok)
    have_test = "test_images" in arrays and "test_labels" in arrays
    have_train = "train_images" in arrays and "train_labels" in arrays
    if not have_test:
        missing = [FILES[k] + "[.gz]" for k in ("test_images", "test_labels") if k not in arrays]
        raise DataError(f"{dataset}: {', '.join(missing)} not found in {directory}")
    for part in ("train", "test"):
        if f"{part}_images" in arrays and f"{part}_labels" in arrays:
            n_img, n_lab = arrays[f"{part}_images"].shape[0], arrays[f"{part}_labels"].shape[0]
            if n_img != n_lab:
                raise DataError(f"{found[part + '_labels']}: {n_lab} labels for {n_img} images")
    files = tuple(str(p) for p in found.values() if p is not None)
    if have_train:
        return Dataset(dataset, source, arrays["train_images"], arrays["train_labels"], arrays["test_images"],
                       arrays["test_labels"], all(oks), files)
    if any(k in arrays for k in ("train_images", "train_labels")):
        missing = [FILES[k] + "[.gz]" for k in ("train_images", "train_labels") if k not in arrays]
        raise DataError(f"{dataset}: {', '.join(missing)} not found in {directory}")
    parts = split_test_set(arrays["test_images"], arrays["test_labels"])
    return Dataset(dataset, source + " (test set split 8000/2000)", *parts, all(oks), files)


def embedded_dir() -> Path:
    """Folder of the embedded MNIST test-set files (package data)."""
    return Path(str(resources.files("asymexp") / "data" / "mnist"))


def load(dataset: str = "mnist", data_dir=None) -> Dataset:
    """Load and verify a dataset (see the module docstring for where it looks).

    Raises :class:`DataError` naming the file and the defect for a corrupt or truncated file, and listing
    where it looked for a missing dataset.
    """
    if dataset not in DATASETS:
        raise DataError(f"dataset {dataset!r} is unknown; allowed: {', '.join(DATASETS)}")
    if data_dir is None:
        data_dir = os.environ.get("ASYMEXP_DATA") or None
    if data_dir is not None:
        directory = Path(data_dir)
        if not directory.is_dir():
            raise DataError(f"data directory {directory} does not exist")
        sub = directory / dataset
        if sub.is_dir() and _find(sub, FILES["test_images"]) and not _find(directory, FILES["test_images"]):
            directory = sub
        return _load_dir(directory, dataset, str(directory))
    if dataset == "mnist":
        ds = _load_dir(embedded_dir(), "mnist", "embedded")
        if not ds.md5_ok:
            raise DataError(f"embedded MNIST in {embedded_dir()} fails its md5 check; reinstall asymexp")
        return ds
    if _find(FASHION_SYSTEM_DIR, FILES["test_images"]):
        return _load_dir(FASHION_SYSTEM_DIR, dataset, str(FASHION_SYSTEM_DIR))
    raise DataError("fashion-mnist not found; looked in $ASYMEXP_DATA (unset) and "
                    f"{FASHION_SYSTEM_DIR} (install Debian's dataset-fashion-mnist, or pass --data-dir)")


def available() -> dict:
    """Which datasets can be loaded here, without reading them: name -> location or None."""
    env = os.environ.get("ASYMEXP_DATA")
    fashion = FASHION_SYSTEM_DIR if _find(FASHION_SYSTEM_DIR, FILES["test_images"]) else None
    return {"mnist (embedded)": str(embedded_dir()), "ASYMEXP_DATA": env,
            "fashion-mnist": str(fashion) if fashion else None}
