"""Name -> class registries, filled by decorators; one per family (attacks, detectors)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T", bound=type)


class Registry(Generic[T]):
    """A mapping of names to classes, with errors that list what is valid.

    Parameters
    ----------
    family : str
        What the registry holds, for messages (``"attack"``, ``"detector"``).
    """

    def __init__(self, family: str) -> None:
        self.family = family
        self._classes: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Class decorator: register the class under ``name`` and set its ``name`` attribute."""

        def decorate(cls: T) -> T:
            if name in self._classes:
                raise RuntimeError(f"{self.family} {name!r} is registered twice")
            cls.name = name
            self._classes[name] = cls
            return cls

        return decorate

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._classes)

    def __contains__(self, name: object) -> bool:
        return name in self._classes

    def __iter__(self):
        return iter(self.names())

    def items(self) -> list[tuple[str, T]]:
        return [(n, self._classes[n]) for n in self.names()]

    def get(self, name: str) -> T:
        """The class registered as ``name``; an unknown name raises ``ValueError``."""
        if name not in self._classes:
            raise ValueError(f"unknown {self.family} {name!r}; known: {', '.join(self.names())}.")
        return self._classes[name]

    def create(self, name: str, **params: Any) -> Any:
        """An instance of ``name`` with ``params``; an unknown parameter raises ``ValueError``."""
        cls = self.get(name)
        valid = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
        for key in params:
            if key not in valid:
                raise ValueError(
                    f"{self.family} {name!r} has no parameter {key!r}; valid: {', '.join(valid)}."
                )
        return cls(**params)
