"""User files: CSV, NPZ and Parquet, with one-line errors for everything a user can get wrong.

NPZ files are read with ``allow_pickle=False``: a user's file is never unpickled.
"""

from __future__ import annotations

import zipfile
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pandas as pd

from .base import Dataset, image_shape_for

SUPPORTED = (".csv", ".npz", ".parquet")


def load_file(path_text: str, *, label: str | None) -> Dataset:
    """Load ``file:<path>``.

    Parameters
    ----------
    path_text : str
        Path to a ``.csv``, ``.npz`` or ``.parquet`` file.
    label : str or None
        The label column (CSV, Parquet) or array name (NPZ, default ``"y"``; features in ``"X"``).

    Returns
    -------
    Dataset
    """
    path = Path(path_text)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise ValueError(
            f"dataset file {path_text!r} has an unsupported type {suffix!r}; "
            f"supported: {', '.join(SUPPORTED)}."
        )
    if not path.is_file():
        raise ValueError(f"dataset file {path_text!r} does not exist.")
    if path.stat().st_size == 0:
        raise ValueError(f"dataset file {path_text!r} is empty.")
    if suffix == ".npz":
        X, y, names = _read_npz(path, label or "y")
    else:
        if label is None:
            raise ValueError(
                f"dataset file {path_text!r} needs --label: the name of its label column."
            )
        frame = _read_table(path, suffix, label)
        X, y, names = _split_frame(frame, label, path_text)
    X = _check_features(X, path_text)
    y = labels_as_str(y, where=f"label column {label!r} of {path_text!r}")
    if len(np.unique(y)) < 2:
        raise ValueError(
            f"dataset file {path_text!r} has fewer than two classes in its label "
            f"{label!r}: {np.unique(y).tolist()}."
        )
    return Dataset(f"file:{path_text}", X, y, "file", names, image_shape_for(X.shape[1]))


def _read_table(path: Path, suffix: str, label: str) -> pd.DataFrame:
    if suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ValueError("reading Parquet needs pyarrow: pip install pyarrow") from None
        try:
            frame = pd.read_parquet(path)
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise ValueError(
                f"dataset file {str(path)!r} is not a readable Parquet file "
                f"({str(exc).strip().splitlines()[0][:200]})."
            ) from None
        _refuse_duplicate_columns(path, list(frame.columns))
        return frame
    try:
        _refuse_duplicate_columns(
            path, pd.read_csv(path, nrows=1, header=None, dtype=str).iloc[0].tolist()
        )
        # Labels are read as written (text): parsing them as numbers first could merge two
        # labels that differ beyond float64's precision (1e+19 and 1e+19 + 1).
        frame = pd.read_csv(path, low_memory=False, dtype={label: str})
    except pd.errors.EmptyDataError:
        raise ValueError(f"dataset file {str(path)!r} is empty.") from None
    except pd.errors.ParserError as exc:
        raise ValueError(
            f"dataset file {str(path)!r} is not valid CSV: {str(exc).strip().splitlines()[-1]}"
        ) from None
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"dataset file {str(path)!r} is not UTF-8 text (it holds the byte "
            f"0x{exc.object[exc.start]:02x}); save it as UTF-8."
        ) from None
    if frame.empty:
        raise ValueError(f"dataset file {str(path)!r} has a header but no rows.")
    return frame


def _refuse_duplicate_columns(path: Path, header: list) -> None:
    """pandas would rename a repeated column ``a`` to ``a.1`` silently; refuse instead."""
    names = [str(name) for name in header]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(
            f"dataset file {str(path)!r} has duplicate column names: "
            f"{', '.join(repr(name) for name in repeated[:10])}; each column needs its own name."
        )


def _delimiter_hint(columns: list[str]) -> str:
    if len(columns) == 1:
        for sep, name in ((";", "';'"), ("\t", "a tab"), ("|", "'|'")):
            if sep in columns[0]:
                return f" (the file seems to use {name} as delimiter; poisonlab reads ',')"
    return ""


def _split_frame(
    frame: pd.DataFrame, label: str, path_text: str
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    columns = [str(c) for c in frame.columns]
    if label not in columns:
        shown = ", ".join(columns[:20]) + (", ..." if len(columns) > 20 else "")
        raise ValueError(
            f"label column {label!r} not found in {path_text!r}; columns found: "
            f"{shown}{_delimiter_hint(columns)}."
        )
    frame.columns = columns
    y = frame[label].to_numpy()
    features = frame.drop(columns=[label])
    if features.shape[1] == 0:
        raise ValueError(f"dataset file {path_text!r} has no feature columns besides {label!r}.")
    non_numeric = [
        c
        for c in features.columns
        if not pd.api.types.is_numeric_dtype(features[c]) or pd.api.types.is_bool_dtype(features[c])
    ]
    if non_numeric:
        shown = ", ".join(repr(c) for c in non_numeric[:10])
        raise ValueError(
            f"dataset file {path_text!r} has non-numeric feature columns: {shown}"
            f"{' ...' if len(non_numeric) > 10 else ''}; poisonlab needs numbers."
        )
    return features.to_numpy(dtype=np.float64), y, list(features.columns)


#: The most a deflated member can expand (deflate's limit is about 1032:1), so a member whose
#: declared size exceeds this many times its compressed size is lying about its size.
MAX_DEFLATE_RATIO = 1100


def _read_npz(path: Path, label: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    _check_npz_sizes(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, AttributeError):
        raise ValueError(
            f"dataset file {str(path)!r} is not a readable NPZ file of plain arrays."
        ) from None
    if "X" not in arrays or label not in arrays:
        raise ValueError(
            f"NPZ file {str(path)!r} must hold arrays 'X' and {label!r}; found: "
            f"{', '.join(arrays) or 'none'}."
        )
    X, y = arrays["X"], arrays[label]
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(
            f"NPZ file {str(path)!r}: 'X' must be 2-D and {label!r} 1-D with one "
            f"label per row; got shapes {X.shape} and {y.shape}."
        )
    return X, y, [f"x{i}" for i in range(X.shape[1])]


def _check_npz_sizes(path: Path) -> None:
    """Refuse an NPZ whose arrays declare more bytes than the file holds, before allocating.

    ``np.load`` allocates the shape an array's header declares before reading its data, so a
    1 kB file declaring a (10**14,) array would ask for 728 TiB. Each member's declared size is
    checked against what its zip member really holds.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            headers = [
                _npy_header(archive, member)
                for member in archive.infolist()
                if member.filename.endswith(".npy")
            ]
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise ValueError(
            f"dataset file {str(path)!r} is not a readable NPZ file of plain arrays."
        ) from None
    for member, shape, declared, available in headers:
        deflated = member.compress_type != zipfile.ZIP_STORED
        if declared > available or (
            deflated and available > MAX_DEFLATE_RATIO * member.compress_size
        ):
            raise ValueError(
                f"NPZ file {str(path)!r}: array {member.filename[:-4]!r} declares shape "
                f"{shape} ({declared:,} bytes) but the file holds {available:,} bytes for it; "
                "the file is damaged or forged."
            )


def _npy_header(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo
) -> tuple[zipfile.ZipInfo, tuple, int, int]:
    """(member, declared shape, declared bytes, bytes after the header) of one ``.npy`` member."""
    from numpy.lib import format as npy

    with archive.open(member) as stream:
        version = npy.read_magic(stream)
        read_header = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
        shape, _, dtype = read_header(stream)
        declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
        return member, shape, declared, member.file_size - stream.tell()


def _check_features(X: np.ndarray, path_text: str) -> np.ndarray:
    if X.dtype.kind not in "biuf":
        raise ValueError(
            f"dataset file {path_text!r}: features must be numeric; got dtype {X.dtype}."
        )
    if len(X) == 0:
        raise ValueError(f"dataset file {path_text!r} has no rows.")
    if X.dtype.kind == "f":
        bad = ~np.isfinite(X)
        if bad.any():
            rows = np.flatnonzero(bad.any(axis=1))
            raise ValueError(
                f"dataset file {path_text!r} has {int(bad.sum())} NaN or infinite "
                f"feature values (first in row {int(rows[0])})."
            )
        huge = np.abs(X) > MAX_FEATURE_MAGNITUDE
        if huge.any():
            row, column = np.argwhere(huge)[0]
            raise ValueError(
                f"dataset file {path_text!r} has feature values beyond "
                f"±{MAX_FEATURE_MAGNITUDE:.0e} (first {float(X[row, column])!r} in row {int(row)}, "
                f"column {int(column)}); rescale the data."
            )
    return X


#: Larger feature magnitudes are refused: distances, kernels and variances square them, and
#: squares beyond 1e308 overflow float64 to infinity part-way through a run.
MAX_FEATURE_MAGNITUDE = 1e150

#: Longer labels are refused: a label is a class name, and numpy stores every label of an
#: array at the longest one's width (one 10 MB cell would make every row 40 MB).
MAX_LABEL_CHARS = 200


def labels_as_str(y: np.ndarray, *, where: str) -> np.ndarray:
    """Labels as a numpy str array, read exactly; integral numbers become ``'1'``, not ``'1.0'``.

    Numbers, and text that is all numbers, are converted without rounding (``1e+19`` and
    ``2e+19`` stay two classes); other text is kept as written.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    where : str
        Names the label source in error messages.

    Returns
    -------
    ndarray of shape (n_samples,), dtype str
    """
    y = np.asarray(y)
    if y.dtype.kind in "biu":
        return y.astype(str)
    missing = pd.isna(y) if y.dtype.kind in "fO" else np.zeros(len(y), dtype=bool)
    if y.dtype.kind == "f":
        missing |= ~np.isfinite(y)
    if missing.any():
        rows = np.flatnonzero(missing)
        raise ValueError(f"{where} has {len(rows)} missing labels (first in row {int(rows[0])}).")
    codes, values = pd.factorize(y)
    names = _class_names(
        [v if isinstance(v, float | np.floating) else str(v) for v in values], where
    )
    for code, name in enumerate(names):
        if len(name) > MAX_LABEL_CHARS:
            row = int(np.flatnonzero(codes == code)[0])
            raise ValueError(
                f"{where} has a label of {len(name):,} characters in row {row}; labels are "
                f"class names of at most {MAX_LABEL_CHARS} characters."
            )
    return np.asarray(names, dtype=str)[codes]


def _class_names(values: list, where: str) -> list[str]:
    """Distinct labels as class names: exact integers when every one is a number."""
    numbers = [_as_decimal(value) for value in values]
    if any(number is None for number in numbers):
        return [str(value) for value in values]
    fractional = [value for value, number in zip(values, numbers, strict=True) if number % 1]
    if fractional:
        raise ValueError(
            f"{where} holds non-integer numbers (e.g. {fractional[0]!r}); classification needs "
            "class labels, not a continuous target."
        )
    return [str(int(number)) for number in numbers]


def _as_decimal(value) -> Decimal | None:
    """The exact finite number ``value`` is or spells, else None."""
    try:
        number = Decimal(value) if isinstance(value, str) else Decimal(float(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None
