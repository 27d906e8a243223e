"""The results store: one SQLite file per study, the contract between runs and reports.

One row per run in ``runs``, keyed by a content hash of the run's configuration, with the
fingerprint of the code that computed it (``code``: a row is *current* when it equals
:func:`~poisonlab.experiment.provenance.code_fingerprint`, else *stale*); the run's named
numpy arrays (predictions, detector scores, poison indices, ...) in ``arrays`` as raw bytes
with their dtype and shape (read back with :func:`numpy.frombuffer`, never pickle); the
study's description in ``meta``. The schema is documented in ``docs/architecture.md`` ("The
results store"); reports read nothing else.

Each run is written in one transaction when it finishes, in WAL mode, so a sweep killed at any
moment (Ctrl-C, ``kill -9``) leaves only whole rows behind: SQLite's journal rolls back a
transaction that did not commit.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from .ids import canonical_json
from .provenance import code_fingerprint, environment

#: The file a study's results live in, inside its output directory.
STORE_NAME = "results.sqlite"
#: Bumped when the schema changes incompatibly; stored in ``meta`` as ``schema_version``.
SCHEMA_VERSION = 2
STATUSES = ("ok", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    key             TEXT PRIMARY KEY,
    run_id          TEXT NOT NULL,
    experiment      TEXT NOT NULL,
    dataset         TEXT NOT NULL,
    model           TEXT NOT NULL,
    attack          TEXT NOT NULL,
    defense         TEXT NOT NULL,
    seed            INTEGER NOT NULL,
    run_seed        INTEGER NOT NULL,
    budget          INTEGER,
    status          TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    error           TEXT,
    config          TEXT NOT NULL,
    metrics         TEXT NOT NULL,
    timings         TEXT NOT NULL,
    fit_seconds     REAL,
    total_seconds   REAL NOT NULL,
    finished        TEXT NOT NULL,
    package_version TEXT NOT NULL,
    code            TEXT NOT NULL,
    environment     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_run_id ON runs (run_id);
CREATE TABLE IF NOT EXISTS arrays (
    run_key TEXT NOT NULL REFERENCES runs (key) ON DELETE CASCADE,
    name    TEXT NOT NULL,
    dtype   TEXT NOT NULL,
    shape   TEXT NOT NULL,
    data    BLOB NOT NULL,
    PRIMARY KEY (run_key, name)
);
"""

_RUN_COLUMNS = (
    "key",
    "run_id",
    "experiment",
    "dataset",
    "model",
    "attack",
    "defense",
    "seed",
    "run_seed",
    "budget",
    "status",
    "error",
    "config",
    "metrics",
    "timings",
    "fit_seconds",
    "total_seconds",
    "finished",
    "package_version",
    "code",
    "environment",
)


def run_key(config: Mapping[str, Any]) -> str:
    """The content hash that keys a run's row: SHA-256 of its config's canonical JSON.

    The key says *what* was run; which code ran it is the row's ``code`` column, so a store
    rerun with other code replaces its stale rows instead of keeping two of each run.
    """
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()


@dataclass(frozen=True)
class RunRecord:
    """One row of ``runs``; ``config``, ``metrics`` and ``timings`` decoded from JSON.

    Attributes
    ----------
    key : str
        :func:`run_key` of ``config``.
    run_id : str
        Readable id, e.g. ``ml106/svc/label_flip[source=1,target=2,budget=100,select=first]/
        none/seed0``.
    experiment, dataset, model, attack, defense : str
        Names (``attack`` and ``defense`` are registry names; ``none`` for no defense).
    seed : int
        The repetition's seed from the spec (``seed0`` in the run id).
    run_seed : int
        The run's seed, hashed from ``seed`` and the run id (the detector's seed derives from
        it; the attack's from ``seed``, the dataset and the attack, see ``grid.RunSpec``).
    budget : int or None
        Number of poisoned samples the attack reported, when it has a budget.
    status : {"ok", "failed"}
    error : str or None
        ``"ExceptionType: message"`` of a failed run.
    config : dict
        Everything that defines the run (its hash is ``key``).
    metrics : dict
        What was measured (see docs/architecture.md); empty for a failed run.
    timings : dict of str to float
        Seconds per phase (``load``, ``poison``, ``detect``, ``fit``, ``predict``, ``metrics``).
    fit_seconds : float or None
        Model fitting time.
    total_seconds : float
        Wall time of the whole run.
    finished : str
        UTC time the run finished, ISO 8601.
    package_version : str
    code : str
        :func:`~poisonlab.experiment.provenance.code_fingerprint` of the code that computed it.
    environment : dict
        Versions of Python and the libraries that computed it (``provenance.environment``).
    """

    key: str
    run_id: str
    experiment: str
    dataset: str
    model: str
    attack: str
    defense: str
    seed: int
    run_seed: int
    budget: int | None
    status: str
    error: str | None
    config: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    fit_seconds: float | None = None
    total_seconds: float = 0.0
    finished: str = ""
    package_version: str = __version__
    code: str = field(default_factory=code_fingerprint)
    environment: dict[str, Any] = field(default_factory=environment)

    def as_row(self) -> tuple:
        """Values in the order of the ``runs`` columns, JSON columns encoded."""
        values = []
        for name in _RUN_COLUMNS:
            value = getattr(self, name)
            values.append(canonical_json(value) if name in _JSON_COLUMNS else value)
        return tuple(values)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> RunRecord:
        return cls(
            **{
                name: json.loads(row[name]) if name in _JSON_COLUMNS else row[name]
                for name in _RUN_COLUMNS
            }
        )


_JSON_COLUMNS = frozenset({"config", "metrics", "timings", "environment"})


def utc_now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def encode_array(a: np.ndarray) -> tuple[str, str, bytes]:
    """``(dtype, shape, data)`` columns of an array: its dtype string, JSON shape, raw bytes.

    Object arrays are refused: they could only be stored by pickling.
    """
    a = np.asarray(a)
    if a.dtype.hasobject:
        raise TypeError(f"arrays in the results store must not hold objects; got dtype {a.dtype}.")
    return a.dtype.str, json.dumps(list(a.shape)), np.ascontiguousarray(a).tobytes()


def decode_array(dtype: str, shape: str, data: bytes) -> np.ndarray:
    """The array :func:`encode_array` encoded (read-only: it views the stored bytes)."""
    return np.frombuffer(data, dtype=np.dtype(dtype)).reshape(json.loads(shape))


class ResultStore:
    """A study's SQLite results store.

    Parameters
    ----------
    path : str or Path
        The database file, or a directory to hold :data:`STORE_NAME`.
    create : bool, default=True
        Create the file if missing; otherwise a missing store is a ``ValueError``.

    Notes
    -----
    Open one store per process: SQLite connections must not cross processes. Parallel workers
    send their results back to the process that owns the store, which writes them.
    """

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        path = Path(path)
        if path.is_dir() or (not path.suffix and not path.exists()):
            path = path / STORE_NAME
        self.path = path
        if not create:
            self._db = _open_read_only(path)
            found = self._read_version()
            self._check_version(found)
            if found == "1":
                self._read_version_1()
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists() and path.stat().st_size:  # never add tables to another database
                ResultStore(path, create=False).close()
            # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE ... COMMIT).
            self._db = sqlite3.connect(path, isolation_level=None, timeout=30.0)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a committed run survives a killed process (Ctrl-C, kill -9);
            # only a power cut or OS crash may lose the last runs (never corrupt the file), and
            # those are recomputed on the next run. FULL would cost an fsync per run (~15 ms).
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            with self._transaction():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
        except sqlite3.DatabaseError as exc:
            raise store_os_error(exc, path) from None
        found = self.meta().get("schema_version")
        if found == "1":
            self._upgrade_from_1()
            found = str(SCHEMA_VERSION)
        self._check_version(found)

    def _read_version(self) -> str | None:
        try:
            return self.meta().get("schema_version")
        except sqlite3.DatabaseError:  # no meta table, or not a database at all
            self.close()
            raise ValueError(
                f"{str(self.path)!r} is not a poisonlab results store (no schema_version)."
            ) from None

    def _check_version(self, found: str | None) -> None:
        if found not in (str(SCHEMA_VERSION), "1"):
            self.close()
            if found is None:
                raise ValueError(
                    f"{str(self.path)!r} is not a poisonlab results store (no schema_version)."
                )
            raise ValueError(
                f"the results store {str(self.path)!r} has schema version {found}; this "
                f"poisonlab reads version {SCHEMA_VERSION}."
            )

    def _read_version_1(self) -> None:
        # Read-only: version 1 is read as version 2 through temporary views (in SQLite's temp
        # schema, which shadows main), its rows stale; the file itself is not upgraded.
        self._db.executescript(
            "CREATE TEMP VIEW runs AS SELECT *, '' AS code, '{}' AS environment FROM main.runs;"
            "CREATE TEMP VIEW meta AS SELECT key, CASE key WHEN 'schema_version' THEN "
            f"'{SCHEMA_VERSION}' ELSE value END AS value FROM main.meta;"
        )

    def _upgrade_from_1(self) -> None:
        # Version 1 rows carry no code fingerprint: they stay readable, as stale rows.
        with self._transaction():
            self._db.execute("ALTER TABLE runs ADD COLUMN code TEXT NOT NULL DEFAULT ''")
            self._db.execute("ALTER TABLE runs ADD COLUMN environment TEXT NOT NULL DEFAULT '{}'")
            self._db.execute(
                "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
            )

    # -- life cycle ---------------------------------------------------------------------------

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db, self.path)

    # -- meta ---------------------------------------------------------------------------------

    def meta(self) -> dict[str, str]:
        """The ``meta`` table as a dict."""
        return {r["key"]: r["value"] for r in self._db.execute("SELECT key, value FROM meta")}

    def set_meta(self, values: Mapping[str, str]) -> None:
        """Set ``meta`` entries (replacing existing ones), in one transaction."""
        with self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [(k, str(v)) for k, v in values.items()],
            )

    # -- runs ---------------------------------------------------------------------------------

    def write_run(self, record: RunRecord, arrays: Mapping[str, np.ndarray] | None = None) -> None:
        """Write one finished run and its arrays in one transaction (replacing any old row).

        Parameters
        ----------
        record : RunRecord
        arrays : mapping of str to ndarray, optional
            Named arrays of the run, e.g. ``{"y_pred": ..., "poison_indices": ...}``.
        """
        if record.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}; got {record.status!r}.")
        encoded = [(record.key, name, *encode_array(a)) for name, a in (arrays or {}).items()]
        placeholders = ", ".join("?" for _ in _RUN_COLUMNS)
        with self._transaction():
            # The old row's arrays go with it (ON DELETE CASCADE).
            self._db.execute("DELETE FROM runs WHERE key = ?", (record.key,))
            self._db.execute(
                f"INSERT INTO runs ({', '.join(_RUN_COLUMNS)}) VALUES ({placeholders})",
                record.as_row(),
            )
            self._db.executemany(
                "INSERT INTO arrays (run_key, name, dtype, shape, data) VALUES (?, ?, ?, ?, ?)",
                encoded,
            )

    def finished_keys(self) -> set[str]:
        """Keys of the current runs that finished ``ok``: those a rerun may skip (failed and
        stale runs are run again)."""
        return set(self.finished_metrics())

    def finished_metrics(self, keys: Sequence[str] | None = None) -> dict[str, set[str]]:
        """For each current ``ok`` run's key (among ``keys`` if given: a sweep asks a chunk of
        its grid at a time), the names of the metrics its row holds."""
        query = "SELECT key, metrics FROM runs WHERE status = 'ok' AND code = ?"
        args: list[str] = [code_fingerprint()]
        if keys is not None:
            query += f" AND key IN ({', '.join('?' * len(keys))})"
            args += keys
        rows = self._db.execute(query, args)
        return {r["key"]: set(json.loads(r["metrics"])) for r in rows}

    def update_metrics(self, key: str, metrics: Mapping[str, Any]) -> None:
        """Add or replace entries of a run's ``metrics`` (e.g. metrics computed from its
        stored arrays after the run), in one transaction."""
        with self._transaction():
            (text,) = self._db.execute("SELECT metrics FROM runs WHERE key = ?", (key,)).fetchone()
            merged = {**json.loads(text), **metrics}
            self._db.execute(
                "UPDATE runs SET metrics = ? WHERE key = ?", (canonical_json(merged), key)
            )

    def runs(
        self, *, status: str | None = None, include_stale: bool = False, **equal: Any
    ) -> list[RunRecord]:
        """Runs, in run-id order, optionally filtered.

        Parameters
        ----------
        status : {"ok", "failed"}, optional
        include_stale : bool, default=False
            Also return rows computed by other code (another fingerprint); by default only the
            current rows.
        **equal
            Column = value filters, e.g. ``attack="label_flip"``, ``budget=100``.
        """
        filters = {**equal, **({"status": status} if status is not None else {})}
        unknown = sorted(set(filters) - set(_RUN_COLUMNS) - _JSON_COLUMNS)
        if unknown:
            raise ValueError(
                f"cannot filter runs by {unknown[0]!r}; columns: {', '.join(_RUN_COLUMNS)}."
            )
        if not include_stale:
            filters["code"] = code_fingerprint()
        where = " AND ".join(f"{name} = ?" for name in filters) or "1"
        rows = self._db.execute(
            f"SELECT * FROM runs WHERE {where} ORDER BY run_id, key", tuple(filters.values())
        )
        return [RunRecord.from_row(r) for r in rows]

    def count_stale(self) -> int:
        """Rows computed by other code than the current (hidden unless asked for)."""
        query = "SELECT COUNT(*) FROM runs WHERE code != ?"
        return self._db.execute(query, (code_fingerprint(),)).fetchone()[0]

    def arrays(self, key: str, names: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """A run's stored arrays by name (all of them, or only ``names``)."""
        rows = self._db.execute(
            "SELECT name, dtype, shape, data FROM arrays WHERE run_key = ? ORDER BY name", (key,)
        )
        wanted = None if names is None else set(names)
        return {
            r["name"]: decode_array(r["dtype"], r["shape"], r["data"])
            for r in rows
            if wanted is None or r["name"] in wanted
        }

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]


def _open_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection: a reading command never creates or changes a file.

    A store without a write-ahead log (no sweep is writing it: every writer keeps one while it
    is open) opens ``immutable``, so SQLite creates no ``-shm``/``-wal`` files beside it, even
    in a read-only folder; a store being written opens ``mode=ro``, which reads the log.
    """
    if not path.is_file():
        raise ValueError(f"no results store at {str(path)!r}; run a study there first.")
    _check_is_store_file(path)
    uri = path.resolve().as_uri()
    wal = path.with_name(path.name + "-wal")
    tries = ("mode=ro", "mode=ro&immutable=1") if wal.exists() else ("mode=ro&immutable=1",)
    for options in tries:
        try:
            db = sqlite3.connect(f"{uri}?{options}", uri=True, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.DatabaseError as exc:
            error = exc
    raise store_os_error(error, path)


#: The first bytes of every SQLite database file.
_SQLITE_MAGIC = b"SQLite format 3\x00"


def _check_is_store_file(path: Path) -> None:
    """Refuse a file that is not an SQLite database (and so cannot be a store), without
    letting SQLite write to it."""
    try:
        with path.open("rb") as file:
            head = file.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    if head and head != _SQLITE_MAGIC:
        raise ValueError(f"{str(path)!r} is not a poisonlab results store (not SQLite).")


def store_os_error(exc: sqlite3.Error, path: Path) -> OSError:
    """An SQLite error on the store file as an ``OSError`` naming the file and the cause
    (``database or disk is full``, ``attempt to write a readonly database``)."""
    cause = str(exc)
    if getattr(exc, "sqlite_errorname", "").startswith("SQLITE_IOERR_WRITE"):
        cause += " while writing (the disk is full or the file size limit reached)"
    return OSError(None, cause, str(path))


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on an exception."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self._db, self._path = db, path

    def __enter__(self) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise store_os_error(exc, self._path) from None

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")
        except sqlite3.OperationalError as error:  # a full disk, a read-only file
            if exc_type is None:
                raise store_os_error(error, self._path) from None
        if isinstance(exc, sqlite3.OperationalError):
            raise store_os_error(exc, self._path) from None
