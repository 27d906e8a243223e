"""Small multiples: which panel a series goes in, short names, and one style for a whole page.

A figure has one panel per *facet*, a combination of values of some of the series fields
(:data:`~poisonlab.report.study.FIELDS`; by default attack x model, and the dataset when there
are several). Inside a panel, one line per remaining series. Colours follow the defense and
markers the model on every figure of a page, so a reader learns them once. A panel never holds
more than :data:`MAX_LINES` lines: beyond that the figure is faceted by a further field.

Legends use short names (``label_flip``; ``svc C=10`` when two ``svc`` differ in ``C``); the
key table gives each short name's full parameters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .._errors import ParameterError
from ..experiment.ids import format_value
from ..experiment.store import RunRecord
from .study import FIELDS, SeriesKey, series_key
from .tables import TextTable

#: At most this many lines in one panel.
MAX_LINES = 6
#: Okabe and Ito's colour-blind-safe palette, then the rest of matplotlib's tab10.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#D55E00",
    "#56B4E9",
    "#F0E442",
    "#8c564b",
    "#7f7f7f",
    "#bcbd22",
)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
LINESTYLES = ("-", "--", "-.", ":")
#: Short names longer than this fall back to numbering (``svc (2)``).
SHORT_LIMIT = 24


def default_facets(keys: Iterable[SeriesKey]) -> list[str]:
    """Attack x model, with the dataset first when the study has several."""
    several = len({k.dataset for k in keys}) > 1
    return (["dataset"] if several else []) + ["attack", "model"]


def check_facets(facets: list[str] | None) -> list[str] | None:
    """``facets`` checked against :data:`FIELDS` (None: the default)."""
    if not facets:
        return None
    for name in facets:
        if name not in FIELDS:
            fields = ", ".join(FIELDS)
            raise ParameterError.named("facet", f"cannot facet by {name!r}; fields: {fields}.")
    return list(dict.fromkeys(facets))


# ----------------------------------------------------------------------------- short names


def _parts(record: RunRecord, name: str) -> tuple[str, dict]:
    """A field's registry (or zoo) name and its parameters, from the run's config."""
    config = record.config
    if name == "model":
        model = config.get("model", {})
        return str(model.get("name", record.model)).rsplit(".", 1)[-1], model.get("params", {})
    if name == "attack":
        params = config.get("attack", {}).get("params", {})
        return record.attack, {k: v for k, v in params.items() if k != "budget"}
    if name == "defense":
        return record.defense, config.get("defense", {}).get("params", {})
    return record.dataset, {}


class Names:
    """Short names of every field value of a set of runs.

    Parameters
    ----------
    records : iterable of RunRecord
    """

    def __init__(self, records: Iterable[RunRecord]) -> None:
        found: dict[str, dict[str, tuple[str, dict]]] = {f: {} for f in FIELDS}
        for r in records:
            key = series_key(r)
            for name in FIELDS:
                found[name].setdefault(getattr(key, name), _parts(r, name))
        self._short = {name: _shorten(found[name]) for name in FIELDS}

    def short(self, name: str, full: str) -> str:
        """The short name of value ``full`` of field ``name`` (``full`` if unknown)."""
        return self._short[name].get(full, full)

    def key_table(self) -> TextTable | None:
        """Short names whose full label differs, with that label; None when there are none."""
        rows = [
            [name, short, full]
            for name in FIELDS
            for full, short in sorted(self._short[name].items())
            if short != full
        ]
        if not rows:
            return None
        return TextTable(
            "Names used in this report", ["field", "short name", "full parameters"], rows
        )


def _shorten(values: dict[str, tuple[str, dict]]) -> dict[str, str]:
    by_base: dict[str, list[str]] = {}
    for full, (base, _) in values.items():
        by_base.setdefault(base, []).append(full)
    out = {}
    for base, fulls in by_base.items():
        if len(fulls) == 1:
            out[fulls[0]] = base
            continue
        params = [values[f][1] for f in fulls]
        keys = sorted({k for p in params for k in p})
        varying = [k for k in keys if len({format_value(p.get(k)) for p in params}) > 1]
        for i, full in enumerate(sorted(fulls)):
            p = values[full][1]
            text = " ".join(f"{k}={format_value(p.get(k))}" for k in varying if k in p)
            candidate = f"{base} {text}".strip()
            out[full] = candidate if len(candidate) <= SHORT_LIMIT else f"{base} ({i + 1})"
        if len({out[f] for f in fulls}) < len(fulls):  # two alike after shortening: number
            for i, full in enumerate(sorted(fulls)):
                out[full] = f"{base} ({i + 1})"
    return out


# ----------------------------------------------------------------------------------- style


@dataclass(frozen=True)
class Style:
    """Colour per defense, marker per model, line style per attack: fixed for a whole page."""

    colours: dict[str, str]
    markers: dict[str, str]
    linestyles: dict[str, str]

    @classmethod
    def of(cls, keys: Iterable[SeriesKey]) -> Style:
        keys = list(keys)
        defenses = sorted({k.defense for k in keys}, key=lambda d: (d != "none", d))
        colours = {}
        others = [d for d in defenses if d != "none"]
        if "none" in defenses:
            colours["none"] = "#222222"
        for i, d in enumerate(others):
            colours[d] = PALETTE[i % len(PALETTE)]
        models = sorted({k.model for k in keys})
        attacks = sorted({k.attack for k in keys})
        return cls(
            colours,
            {m: MARKERS[i % len(MARKERS)] for i, m in enumerate(models)},
            {a: LINESTYLES[i % len(LINESTYLES)] for i, a in enumerate(attacks)},
        )

    def line(self, key: SeriesKey) -> dict:
        """matplotlib keyword arguments of a series' line."""
        return {
            "color": self.colours.get(key.defense, "0.4"),
            "marker": self.markers.get(key.model, "o"),
            "linestyle": self.linestyles.get(key.attack, "-"),
        }


# ---------------------------------------------------------------------------------- panels


@dataclass
class Layout:
    """Series placed in panels.

    Attributes
    ----------
    facets : list of str
        The fields panels are cut by (the requested ones, then any added to keep
        :data:`MAX_LINES`).
    added : list of str
        Fields added beyond the requested facets.
    panels : dict of tuple to list of SeriesKey
        Facet values (in ``facets`` order) -> the series drawn in that panel (runs without an
        attack are drawn in every panel of their other facet values, as references).
    """

    facets: list[str]
    added: list[str]
    panels: dict[tuple, list[SeriesKey]]

    def grid(self) -> tuple[int, int, dict[tuple, tuple[int, int]]]:
        """Rows, columns and each panel's cell: a grid by the first two facets when both
        vary, else the panels in reading order, at most three a row."""
        varying = [i for i, _ in enumerate(self.facets) if len({p[i] for p in self.panels}) > 1]
        if len(varying) == 2:
            i, j = varying
            rows = sorted({p[i] for p in self.panels})
            cols = sorted({p[j] for p in self.panels})
            if len(rows) * len(cols) <= 16:
                cells = {p: (rows.index(p[i]), cols.index(p[j])) for p in self.panels}
                return len(rows), len(cols), cells
        n = len(self.panels)
        ncols = min(n, 3)
        cells = {p: divmod(k, ncols) for k, p in enumerate(self.panels)}
        return -(-n // ncols), ncols, cells

    def line_fields(self, keys: Iterable[SeriesKey]) -> list[str]:
        """The fields that tell the lines of a panel apart (those not faceted that vary)."""
        keys = list(keys)
        return [
            f for f in FIELDS if f not in self.facets and len({getattr(k, f) for k in keys}) > 1
        ]


def layout(keys: list[SeriesKey], facets: list[str] | None) -> Layout:
    """Place series in panels by ``facets`` (default :func:`default_facets`), adding facet
    fields while a panel would hold more than :data:`MAX_LINES` lines."""
    chosen = list(facets) if facets else default_facets(keys)
    added = []
    while True:
        panels = _panels(keys, chosen)
        if max((len(v) for v in panels.values()), default=0) <= MAX_LINES:
            return Layout(chosen, added, panels)
        spare = [f for f in ("dataset", "attack", "model", "defense") if f not in chosen]
        if not spare:
            return Layout(chosen, added, panels)
        chosen.append(spare[0])
        added.append(spare[0])


def _panels(keys: list[SeriesKey], facets: list[str]) -> dict[tuple, list[SeriesKey]]:
    attacked = [k for k in keys if k.attack != "none"]
    references = [k for k in keys if k.attack == "none"] if attacked else []
    main = attacked or keys
    panels: dict[tuple, list[SeriesKey]] = {}
    for k in main:
        panels.setdefault(tuple(getattr(k, f) for f in facets), []).append(k)
    for values, members in panels.items():
        for ref in references:
            if all(
                f == "attack" or getattr(ref, f) == v for f, v in zip(facets, values, strict=True)
            ):
                members.append(ref)
    return dict(sorted(panels.items()))
