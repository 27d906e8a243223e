"""``poisonlab reproduce``: published poisoning results as runnable, checked reproductions.

>>> from poisonlab.reproduce import REPRODUCTIONS
>>> REPRODUCTIONS.names()[:2]
['ml106', 'biggio2012']
"""

from __future__ import annotations

from .._registry import Registry
from .base import (
    FAIL,
    NOT_COMPARABLE,
    PASS,
    PENDING,
    Figure,
    FigureResult,
    Reproduction,
    Result,
    Rule,
    reproduce,
)
from .entries import ALL

__all__ = [
    "FAIL",
    "NOT_COMPARABLE",
    "PASS",
    "PENDING",
    "REPRODUCTIONS",
    "Figure",
    "FigureResult",
    "Reproduction",
    "Result",
    "Rule",
    "reproduce",
]

#: Reproductions by name, in the order they are listed.
REPRODUCTIONS: Registry[Reproduction] = Registry("reproduction", sort=False)
for _entry in ALL:
    REPRODUCTIONS.add(_entry.name, _entry, description=_entry.title)
