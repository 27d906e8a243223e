"""Describe registered classes (attacks, detectors) for ``list`` and ``show`` commands."""

from __future__ import annotations

import inspect
from dataclasses import dataclass


@dataclass(frozen=True)
class ParamInfo:
    name: str
    default: str
    allowed: str


def summary(cls: type) -> str:
    """The first sentence-line of the class docstring."""
    doc = inspect.getdoc(cls) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def description(cls: type) -> str:
    """The docstring's opening paragraphs, up to its numpydoc sections."""
    doc = inspect.getdoc(cls) or ""
    text = doc.split("\nParameters\n")[0].strip()
    return " ".join(text.split()) if text else ""


def parameters(cls: type) -> list[ParamInfo]:
    """Parameters of ``cls.__init__`` with their defaults and allowed values."""
    constraints = getattr(cls, "_parameter_constraints", {})
    out = []
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if name == "self":
            continue
        allowed = " or ".join(c.describe() for c in constraints.get(name, [])) or "any"
        default = "required" if param.default is inspect.Parameter.empty else repr(param.default)
        out.append(ParamInfo(name, default, allowed))
    return out
