"""The errors a user can cause that carry where they come from."""

from __future__ import annotations

from collections.abc import Sequence


class ParameterError(ValueError):
    """A value a parameter does not allow, carrying the parameter's path.

    Parameters
    ----------
    message : str
        The whole message, e.g. ``The 'budget' parameter of LabelFlip must be at most 220 ...``.
    path : sequence of str or int
        Where the parameter is: ``("budget",)`` from a class; a caller that knows where the
        value came from puts its own path in front, e.g. ``("attacks", 0, "budget")``.
    detail : str, optional
        The message without the parameter's name, when the message starts with the name
        (``"out: 'x' is not a directory."``), so that a front end can name the parameter its
        own way (the CLI says ``--out``).

    Attributes
    ----------
    path : tuple
    detail : str or None
    """

    def __init__(
        self, message: str, *, path: Sequence[str | int], detail: str | None = None
    ) -> None:
        super().__init__(message)
        self.path = tuple(path)
        self.detail = detail

    @classmethod
    def named(cls, name: str, detail: str) -> ParameterError:
        """``name: detail``, e.g. ``ParameterError.named("out", "'x' is not a directory.")``."""
        return cls(f"{name}: {detail}", path=(name,), detail=detail)

    @property
    def parameter(self) -> str | int:
        """The parameter's own name: the last element of :attr:`path`."""
        return self.path[-1]


__all__ = ["ParameterError"]
