"""Describe registered classes (attacks, detectors) for ``list`` and ``show`` commands.

Docstrings are numpydoc with reStructuredText markup; people read them in a terminal or a
script, so the markup (````budget````, ``**Scores.**``, ``:func:`clone```) is turned into plain
text. The numpydoc sections are parsed by ``docstring_parser``.
"""

from __future__ import annotations

import inspect
import json
import re
from dataclasses import dataclass
from typing import Any

import docstring_parser

from ._validation import join_alternatives


@dataclass(frozen=True)
class ParamInfo:
    """One ``__init__`` parameter as ``show`` presents it.

    Attributes
    ----------
    name : str
    default : object
        The default value, or :data:`REQUIRED` when there is none.
    allowed : str
        The values the parameter's constraints accept, in words (``"any"`` without them).
    description : str
        The docstring's description of the parameter, as plain text ("" when undocumented).
    """

    name: str
    default: Any
    allowed: str
    description: str

    @property
    def default_text(self) -> str:
        """The default as Python would write it (``'first'``, ``0.05``, ``None``)."""
        return "required" if self.default is REQUIRED else repr(self.default)


#: Marks a parameter without a default.
REQUIRED = object()

# :role:`text <target>`, :role:`~pkg.mod.Name` and :role:`pkg.mod.name` -> text, Name, pkg.mod.name
_ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:`(?:([^`<]*?)\s*<[^`>]*>|(~?)([^`]*))`")
_LITERAL = re.compile(r"``(.+?)``", re.DOTALL)
_STRONG = re.compile(r"(?<![\w*])\*\*(\S(?:[^*]*?\S)?)\*\*(?![\w*])")
_EMPHASIS = re.compile(r"(?<![\w*])\*(\S(?:[^*]*?\S)?)\*(?![\w*])")
_INTERPRETED = re.compile(r"`([^`]+)`")


def plain(text: str) -> str:
    """reStructuredText inline markup as plain text; paragraphs kept, lines joined.

    Parameters
    ----------
    text : str
        A docstring fragment, e.g. ``"Flip ``budget`` labels; see :func:`sklearn.base.clone`."``.

    Returns
    -------
    str
        E.g. ``"Flip budget labels; see sklearn.base.clone."``; paragraphs are separated by one
        blank line, and each is one line.
    """
    text = _ROLE.sub(_role_text, text)
    text = _LITERAL.sub(r"\1", text)
    text = _STRONG.sub(r"\1", text)
    text = _EMPHASIS.sub(r"\1", text)
    text = _INTERPRETED.sub(r"\1", text)
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


def _role_text(match: re.Match) -> str:
    label, tilde, target = match.groups()
    if label:
        return label
    return target.rsplit(".", 1)[-1] if tilde else target


def _parsed(cls: type) -> docstring_parser.Docstring:
    return docstring_parser.parse(
        inspect.getdoc(cls) or "", docstring_parser.DocstringStyle.NUMPYDOC
    )


def summary(cls: type) -> str:
    """The docstring's first line, as plain text."""
    return plain(_parsed(cls).short_description or "")


def description(cls: type) -> str:
    """The docstring's opening paragraphs, up to its numpydoc sections, as plain text."""
    doc = _parsed(cls)
    return plain("\n\n".join(p for p in (doc.short_description, doc.long_description) if p))


def parameters(cls: type) -> list[ParamInfo]:
    """Parameters of ``cls.__init__`` with their defaults, allowed values and descriptions."""
    constraints = getattr(cls, "_parameter_constraints", {})
    documented = {p.arg_name: plain(p.description or "") for p in _parsed(cls).params}
    out = []
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if name == "self":
            continue
        allowed = join_alternatives([c.describe() for c in constraints.get(name, [])]) or "any"
        default = REQUIRED if param.default is inspect.Parameter.empty else param.default
        out.append(ParamInfo(name, default, allowed, documented.get(name, "")))
    return out


def as_json(cls: type, name: str) -> dict[str, Any]:
    """Everything ``show`` prints, as one JSON-ready dict.

    Defaults that JSON cannot hold (an estimator, a Generator) are given as their ``repr``.
    """
    return {
        "name": name,
        "class": cls.__name__,
        "kind": getattr(cls, "kind", "") or None,
        "summary": summary(cls),
        "description": description(cls),
        "reference": getattr(cls, "reference", "") or None,
        "parameters": [
            {
                "name": p.name,
                "default": _json_value(p.default),
                "required": p.default is REQUIRED,
                "allowed": p.allowed,
                "description": p.description,
            }
            for p in parameters(cls)
        ],
    }


def _json_value(value: Any) -> Any:
    if value is REQUIRED:
        return None
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value
