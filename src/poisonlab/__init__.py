"""poisonlab: investigate data poisoning of classic machine-learning models."""

from importlib.metadata import PackageNotFoundError, version

try:
    # The one place the version is written is pyproject.toml; this reads it back.
    __version__ = version("poisonlab")
except PackageNotFoundError:  # pragma: no cover - running from a source tree not installed
    __version__ = "0+unknown"
