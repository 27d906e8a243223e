"""Name -> class registries, filled by decorators; one per family (attacks, detectors).

A registry may also hold other named things than classes (the report's metrics and figure
kinds): :meth:`Registry.add` registers an object as it is, and :meth:`Registry.in_order` lists
entries in the order they were registered, for families whose order means something.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


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
            self.add(name, cls)
            cls.name = name
            return cls

        return decorate

    def add(self, name: str, item: T) -> T:
        """Register ``item`` (a class or any other object) under ``name``, unchanged."""
        if name in self._classes:
            raise RuntimeError(f"{self.family} {name!r} is registered twice")
        self._classes[name] = item
        return item

    def in_order(self) -> list[tuple[str, T]]:
        """``(name, item)`` pairs in the order they were registered."""
        return list(self._classes.items())

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
