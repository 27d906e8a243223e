"""Name -> entry registries, one per family: attacks, detectors, mitigations, metrics, models,
datasets (with name prefixes such as ``openml:``).

Every ``poisonlab ... list`` command and every "unknown name; known: ..." message reads a
registry, so a name is written in one place: where it is registered.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from ._errors import ParameterError

T = TypeVar("T")


class Registry(Generic[T]):
    """A mapping of names to entries (classes, functions or factories), with errors that list
    what is valid.

    Parameters
    ----------
    family : str
        What the registry holds, for messages (``"attack"``, ``"detector"``).
    sort : bool, default=True
        List names sorted; ``False`` keeps the order they were registered in.
    """

    def __init__(self, family: str, *, sort: bool = True) -> None:
        self.family = family
        self.sort = sort
        self._entries: dict[str, T] = {}
        self._descriptions: dict[str, str] = {}
        self._prefixes: dict[str, tuple[str, Callable[[str], Any], str]] = {}

    # -- registering ---------------------------------------------------------------------------

    def register(self, name: str, *, description: str = "") -> Callable[[T], T]:
        """Decorator: register the class or function under ``name`` (a class also gets its
        ``name`` attribute set)."""

        def decorate(entry: T) -> T:
            if inspect.isclass(entry):
                entry.name = name
            self.add(name, entry, description=description)
            return entry

        return decorate

    def add(self, name: str, entry: T, *, description: str = "") -> T:
        """Register ``entry`` under ``name``; a name registered twice is an error."""
        if name in self._entries:
            raise RuntimeError(f"{self.family} {name!r} is registered twice")
        self._entries[name] = entry
        self._descriptions[name] = description
        return entry

    def add_prefix(self, prefix: str, argument: str, entry: Any, *, description: str = "") -> None:
        """Register a family of names ``prefix:argument`` (e.g. ``openml:<name or id>``) whose
        entry (e.g. a loader taking the argument) is ``entry``."""
        if prefix in self._prefixes:
            raise RuntimeError(f"{self.family} prefix {prefix!r} is registered twice")
        self._prefixes[prefix] = (argument, entry, description)

    # -- reading -------------------------------------------------------------------------------

    def names(self) -> list[str]:
        """Registered names (sorted, unless the registry keeps registration order)."""
        return sorted(self._entries) if self.sort else list(self._entries)

    def forms(self) -> list[str]:
        """Every accepted name form: the names, then ``prefix:<argument>`` per prefix."""
        return self.names() + [f"{p}:{arg}" for p, (arg, _, _) in self._prefixes.items()]

    def describe(self) -> list[tuple[str, str]]:
        """``(name form, description)`` for listings, in :meth:`forms` order."""
        named = [(n, self._descriptions[n]) for n in self.names()]
        return named + [(f"{p}:{arg}", d) for p, (arg, _, d) in self._prefixes.items()]

    @property
    def prefixes(self) -> dict[str, str]:
        """Prefix -> what follows its colon."""
        return {p: arg for p, (arg, _, _) in self._prefixes.items()}

    def accepts(self, name: str) -> bool:
        """Whether ``name`` is registered or has a registered prefix (and an argument)."""
        prefix, colon, rest = name.partition(":")
        return name in self._entries or bool(colon and rest and prefix in self._prefixes)

    def unknown(self, name: object, *, also: str = "") -> ValueError:
        """The error for an unknown name: ``unknown <family> 'x'; known: a, b[, also].``."""
        known = ", ".join(self.forms()) + (f", {also}" if also else "")
        return ValueError(f"unknown {self.family} {name!r}; known: {known}.")

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def items(self) -> list[tuple[str, T]]:
        return [(n, self._entries[n]) for n in self.names()]

    def get(self, name: str) -> T:
        """The entry registered as ``name``; an unknown name raises ``ValueError``."""
        if name not in self._entries:
            raise self.unknown(name)
        return self._entries[name]

    def prefix_entry(self, name: str) -> tuple[Any, str]:
        """``(entry, argument)`` of a prefixed name such as ``openml:mnist_784``."""
        if not self.accepts(name) or name in self._entries:
            raise self.unknown(name)
        prefix, _, rest = name.partition(":")
        return self._prefixes[prefix][1], rest

    def create(self, name: str, **params: Any) -> Any:
        """An instance of ``name`` with ``params``; an unknown parameter raises ``ValueError``."""
        cls = self.get(name)
        valid = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
        for key in params:
            if key not in valid:
                raise ParameterError(
                    f"{self.family} {name!r} has no parameter {key!r}; valid: {', '.join(valid)}.",
                    path=(key,),
                )
        return cls(**params)
