"""IDX reader and dataset loading."""
import gzip
import hashlib
import shutil
import struct

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from asymexp.errors import DataError
from asymexp.inputs import datasets
from asymexp.inputs.datasets import IDXError, parse_idx


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_raise_only_idx_error(payload):
    try:
        arr = parse_idx(payload, "fuzz")
    except IDXError as exc:
        assert "fuzz" in str(exc)
    else:  # the rare well-formed input must be self-consistent
        assert arr.size * arr.itemsize == len(payload) - 4 - 4 * arr.ndim


def _idx(arr: np.ndarray) -> bytes:
    code = {np.dtype("u1"): 0x08, np.dtype(">i4"): 0x0C}[arr.dtype]
    return bytes([0, 0, code, arr.ndim]) + b"".join(struct.pack(">I", n) for n in arr.shape) + arr.tobytes()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=1, max_size=3), st.data())
def test_valid_idx_round_trips_and_every_truncation_is_caught(shape, data_):
    arr = np.arange(int(np.prod(shape)), dtype="u1").reshape(shape)
    blob = _idx(arr)
    np.testing.assert_array_equal(parse_idx(blob), arr)
    cut = data_.draw(st.integers(0, len(blob) - 1))
    with pytest.raises(IDXError, match="truncated|magic"):
        parse_idx(blob[:cut], "f")
    with pytest.raises(IDXError, match="trailing"):
        parse_idx(blob + b"\0", "f")


def test_embedded_mnist_shapes_md5_and_split():
    ds = datasets.load("mnist")
    assert ds.md5_ok and ds.summary()["md5_ok"] is True
    assert ds.train_images.shape == (8000, 28, 28) and ds.test_images.shape == (2000, 28, 28)
    full, _ = datasets.read_idx(datasets.embedded_dir() / "t10k-images-idx3-ubyte.gz")
    np.testing.assert_array_equal(ds.test_images, full[4::5])  # documented split: i % 5 == 4 is test
    counts = np.bincount(ds.train_labels, minlength=10)
    assert counts.min() > 600  # every digit present in the training part (about 800 each)
    xtr, ytr, xte, yte = ds.arrays()
    assert xtr.shape == (8000, 784) and xtr.dtype == np.float32 and yte.shape == (2000,)
    raw = ds.train_images.reshape(8000, -1) / 255.0
    assert abs(raw.mean() - 0.1307) < 0.01  # the normalization constants fit this data too
    np.testing.assert_allclose(xtr, (raw - 0.1307) / 0.3081, rtol=1e-5, atol=1e-5)


def test_one_hot():
    oh = datasets.one_hot(np.array([3, 0, 9]))
    assert oh.shape == (3, 10) and oh.sum() == 3 and oh[0, 3] == 1 and oh[2, 9] == 1
    with pytest.raises(DataError, match="0..9"):
        datasets.one_hot(np.array([10]))


def _copy_embedded(dst):
    for f in datasets.embedded_dir().glob("*.gz"):
        shutil.copy(f, dst / f.name)


def test_truncated_gzip_in_data_dir_names_the_file(tmp_path):
    _copy_embedded(tmp_path)
    victim = tmp_path / "t10k-images-idx3-ubyte.gz"
    victim.write_bytes(victim.read_bytes()[:5000])
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz"):
        datasets.load("mnist", tmp_path)


def test_truncated_raw_idx_names_the_file(tmp_path):
    _copy_embedded(tmp_path)
    raw = gzip.decompress((tmp_path / "t10k-labels-idx1-ubyte.gz").read_bytes())
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(raw[:-7])
    with pytest.raises(IDXError, match="t10k-labels-idx1-ubyte: truncated"):
        datasets.load("mnist", tmp_path)


def test_unknown_md5_is_reported_not_hidden(tmp_path):
    _copy_embedded(tmp_path)
    p = tmp_path / "t10k-labels-idx1-ubyte.gz"
    p.write_bytes(gzip.compress(gzip.decompress(p.read_bytes()), mtime=0))
    assert hashlib.md5(p.read_bytes()).hexdigest() not in datasets.KNOWN_MD5["mnist"][p.name]
    ds = datasets.load("mnist", tmp_path)
    assert ds.md5_ok is False and ds.train_images.shape == (8000, 28, 28)


def test_missing_dataset_lists_where_it_looked(tmp_path):
    with pytest.raises(DataError, match=str(tmp_path)):
        datasets.load("mnist", tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        datasets.load("mnist", tmp_path / "nope")
    with pytest.raises(DataError, match="allowed"):
        datasets.load("cifar")


def test_full_dataset_dir_with_train_files(tmp_path):
    rng = np.random.default_rng(0)
    for stem, arr in {"train-images-idx3-ubyte": rng.integers(0, 255, (30, 28, 28), dtype=np.uint8),
                      "train-labels-idx1-ubyte": rng.integers(0, 10, 30, dtype=np.uint8),
                      "t10k-images-idx3-ubyte": rng.integers(0, 255, (7, 28, 28), dtype=np.uint8),
                      "t10k-labels-idx1-ubyte": rng.integers(0, 10, 7, dtype=np.uint8)}.items():
        (tmp_path / stem).write_bytes(_idx(arr))
    ds = datasets.load("mnist", tmp_path)
    assert ds.train_images.shape[0] == 30 and ds.test_images.shape[0] == 7 and ds.md5_ok is False
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx(rng.integers(0, 10, 29, dtype=np.uint8)))
    with pytest.raises(DataError, match="29 labels for 30 images"):
        datasets.load("mnist", tmp_path)


@pytest.mark.skipif(not (datasets.FASHION_SYSTEM_DIR / "t10k-images-idx3-ubyte.gz").exists(),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_from_debian_package():
    ds = datasets.load("fashion-mnist")
    assert ds.md5_ok and ds.train_images.shape == (60000, 28, 28) and ds.test_images.shape == (10000, 28, 28)
