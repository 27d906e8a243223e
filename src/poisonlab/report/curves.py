"""Scalar metrics versus the poison budget, as small multiples, and the paired differences
between defenses.

One figure per metric; one panel per facet (see :mod:`poisonlab.report.facets`); in a panel,
one line per series: the mean over seeds at each budget, with a band for its confidence
interval when there are several seeds. Budgets are drawn in their own unit: a panel whose
attacks all had fractional budgets is in fractions of the training set, otherwise in samples.

A detector's metrics do not involve the model: when every model of the study got the same
detection values (same poisoned set, same detector), the figure draws them once, for "all
models", instead of once per model.
"""

from __future__ import annotations

from itertools import combinations

from ..experiment.store import RunRecord
from .canvas import (
    PANEL_HEIGHT,
    PANEL_WIDTH,
    Context,
    ReportFigure,
    legend_columns,
    new_figure,
    plain,
    wrap,
)
from .facets import MAX_LINES, layout
from .scalars import (
    SCALARS,
    estimate,
    interval_name,
    interval_note,
    scalar,
    success_definitions,
)
from .study import (
    FIELDS,
    SeriesKey,
    budget_of,
    budget_text,
    budget_unit,
    budget_value,
    series_key,
)
from .tables import TextTable

#: The model of a series whose detection values are the same for every model.
ALL_MODELS = "all models"

UNIT_LABELS = {
    "fraction": "poison budget (fraction of the training set)",
    "count": "poison budget (training samples)",
}


def metric_figures(ctx: Context) -> list[ReportFigure]:
    """One small-multiples figure per chosen metric that some run measured."""
    out = []
    for name in ctx.metrics:
        figure = metric_figure(ctx, name)
        if figure is not None:
            out.append(figure)
    return out


def model_free(runs: list[RunRecord], name: str) -> bool:
    """Whether ``name`` has the same value for every model at each dataset, attack, defense,
    budget and seed, with several models present."""
    if len({r.model for r in runs}) < 2:
        return False
    seen: dict[tuple, set] = {}
    for r in runs:
        cell = (r.dataset, series_key(r).attack, series_key(r).defense, budget_of(r), r.seed)
        seen.setdefault(cell, set()).add(scalar(r, name))
    return all(len(values) == 1 for values in seen.values())


def metric_groups(ctx: Context, name: str) -> tuple[dict[SeriesKey, list[RunRecord]], str]:
    """The series of one metric (runs that measured it), and how models were merged.

    A detector is given the poisoned training set, never the model, so a detector's metrics
    are drawn once for all models: ``"identical"`` when every model's runs got the same values,
    ``"pooled"`` when they differ (only the detector's random seed differs between them; each
    seed's value is then the mean over the models' runs), ``""`` for other metrics.
    """
    metric = SCALARS.get(name)
    runs = [r for r in ctx.study.runs if metric.applies(r)]
    merged = ""
    if metric.detection and len({r.model for r in runs}) > 1:
        merged = "identical" if model_free(runs, name) else "pooled"
    groups: dict[SeriesKey, list[RunRecord]] = {}
    for r in runs:
        key = series_key(r)
        if merged:
            key = SeriesKey(key.dataset, ALL_MODELS, key.attack, key.defense)
        groups.setdefault(key, []).append(r)
    return dict(sorted(groups.items())), merged


def seed_values(runs: list[RunRecord], name: str, unit: str) -> dict[float, dict[int, float]]:
    """Budget (in ``unit``) -> seed -> value; runs of one budget and seed (several models,
    when merged) are averaged; undefined values are left out."""
    found: dict[float, dict[int, list[float]]] = {}
    for r in runs:
        value = scalar(r, name)
        if value is not None:
            found.setdefault(budget_value(r, unit), {}).setdefault(r.seed, []).append(value)
    return {x: {s: sum(v) / len(v) for s, v in by_seed.items()} for x, by_seed in found.items()}


def metric_figure(ctx: Context, name: str) -> ReportFigure | None:
    metric = SCALARS.get(name)
    groups, merged = metric_groups(ctx, name)
    drawn = {k: v for k, v in groups.items() if any(scalar(r, name) is not None for r in v)}
    if not drawn:
        return None
    undefined_series = [k for k in groups if k not in drawn]
    plan = layout(list(drawn), ctx.facets)
    nrows, ncols, cells = plan.grid()
    line_fields = plan.line_fields(drawn) or ["defense"]
    fig = new_figure(PANEL_WIDTH * ncols + 0.3, PANEL_HEIGHT * nrows + 0.55)
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
    handles: dict[str, object] = {}
    n_undefined = 0
    for values, keys in plan.panels.items():
        row, col = cells[values]
        ax = axes[row][col]
        unit = budget_unit(r for k in keys for r in drawn.get(k, []))
        for key in keys:
            if key not in drawn:
                continue
            label = " · ".join(ctx.names.short(f, getattr(key, f)) for f in line_fields)
            handle, missing = _draw(ax, key, drawn[key], name, unit, ctx)
            n_undefined += missing
            handles.setdefault(label, handle)
        title = " · ".join(ctx.names.short(f, v) for f, v in zip(plan.facets, values, strict=True))
        ax.set_title(wrap(title, int(PANEL_WIDTH * 16)))
        ax.set_xlabel(UNIT_LABELS[unit])
        ax.grid(alpha=0.3)
    used = set(cells.values())
    for row in range(nrows):
        axes[row][0].set_ylabel(plain(metric.title))
        for col in range(ncols):
            if (row, col) not in used:
                axes[row][col].set_axis_off()
    fig.legend(
        list(handles.values()),
        [plain(t) for t in handles],
        loc="outside lower center",
        ncols=legend_columns(fig, len(handles)),
        frameon=False,
    )
    caption = _caption(ctx, name, plan, line_fields, merged, n_undefined, undefined_series)
    tables = [t for t in (paired_table(ctx, name, drawn),) if t is not None]
    return ReportFigure(
        f"metric_{name}", f"{metric.title} versus poison budget", caption, fig, tables
    )


def _draw(ax, key: SeriesKey, runs: list[RunRecord], name: str, unit: str, ctx: Context):
    """One series: mean per budget and its interval band; returns the line and how many
    budgets had only undefined values."""
    points = {x: list(v.values()) for x, v in seed_values(runs, name, unit).items()}
    missing = {budget_value(r, unit) for r in runs}
    style = ctx.style.line(key)
    estimates = [estimate(points[x]) for x in sorted(points)]
    if key.attack == "none":  # no budget: a reference line across the panel
        mean = estimate([v for vs in points.values() for v in vs])
        line = ax.axhline(mean.mean, color=style["color"], linestyle=(0, (1, 1.5)))
        if mean.n > 1:
            low, high = max(mean.low, 0.0), min(mean.high, 1.0)
            ax.axhspan(low, high, color=style["color"], alpha=0.12, linewidth=0)
        return line, 0
    xs = sorted(points)
    (line,) = ax.plot(xs, [e.mean for e in estimates], **style)
    if any(e.n > 1 for e in estimates):
        # Every scalar is a rate in [0, 1]; a t interval of a few seeds can reach past it.
        ax.fill_between(
            xs,
            [max(e.low, 0.0) for e in estimates],
            [min(e.high, 1.0) for e in estimates],
            color=style["color"],
            alpha=0.15,
            linewidth=0,
        )
    return line, len(missing - set(points))


def _caption(ctx, name, plan, line_fields, merged, n_undefined, undefined_series) -> str:
    metric = SCALARS.get(name)
    study = ctx.study
    parts = [metric.definition]
    if name == "success_rate":
        defs = success_definitions([r.attack for r in study.runs])
        parts.append(" ".join(f"{a}: {d}" for a, d in defs.items()))
    panels = " x ".join(plan.facets)
    parts.append(
        f"One panel per {panels}; lines by {', '.join(line_fields)}. Colour: defense; "
        "marker: model; line style: attack (the same on every figure of this page)."
    )
    if plan.added:
        parts.append(
            f"Faceted further by {', '.join(plan.added)} to keep at most {MAX_LINES} lines "
            "per panel."
        )
    n = study.n_seeds
    if n > 1:
        parts.append(
            f"Points: the {interval_note(n)} as a band (cut at 0 and 1, the metric's range)."
        )
    else:
        parts.append("One seed: no interval.")
    if merged == "identical":
        parts.append(
            "A detector is given the poisoned training set, never the model, and its values "
            "were identical for every model: each is drawn once, for all models."
        )
    elif merged == "pooled":
        parts.append(
            "A detector is given the poisoned training set, never the model: each is drawn "
            "once, for all models. Its runs under different models differ only in the "
            "detector's random seed; each seed's value is their mean."
        )
    if any(k.attack == "none" for k in plan.panels for k in plan.panels[k]):
        parts.append("Dotted horizontal lines: runs without an attack.")
    if n_undefined:
        parts.append(
            f"Undefined values (e.g. at budget 0, where nothing is poisoned) are not drawn: "
            f"{n_undefined} budget point{'s' if n_undefined > 1 else ''}."
        )
    if undefined_series:
        names = "; ".join(
            " · ".join(ctx.names.short(f, getattr(k, f)) for f in FIELDS) for k in undefined_series
        )
        parts.append(f"Undefined for every run, so not drawn: {names}.")
    return " ".join(parts)


# --------------------------------------------------------------------- paired differences


def paired_table(
    ctx: Context, name: str, groups: dict[SeriesKey, list[RunRecord]]
) -> TextTable | None:
    """Differences of a metric between two defenses on the same poisoned sets.

    Every model and defense of a seed sees the same poisoned training set (the attack's seed
    derives from the repetition's seed, the dataset and the attack only), so two defenses are
    compared seed by seed: the mean of the per-seed differences and its confidence interval.
    """
    cells: dict[tuple, dict[str, dict[int, float]]] = {}
    labels: dict[tuple, str] = {}
    for key, runs in groups.items():
        for x, by_seed in seed_values(runs, name, "count").items():
            cell = (key.dataset, key.model, key.attack, x)
            cells.setdefault(cell, {})[key.defense] = by_seed
            labels[cell] = next(budget_text(r) for r in runs if budget_of(r) == x)
    varying = [
        f for i, f in enumerate(("dataset", "model", "attack")) if len({c[i] for c in cells}) > 1
    ]
    rows = []
    short = ctx.names.short
    for cell in sorted(cells):
        by_defense = cells[cell]
        order = sorted(by_defense, key=lambda d: (d != "none", d))
        for a, b in combinations(order, 2):
            seeds = sorted(set(by_defense[a]) & set(by_defense[b]))
            if not seeds:
                continue
            diff = estimate([by_defense[b][s] - by_defense[a][s] for s in seeds])
            excludes = "–" if diff.n < 2 else ("yes" if diff.low > 0 or diff.high < 0 else "no")
            rows.append(
                [
                    *(short(f, cell[("dataset", "model", "attack").index(f)]) for f in varying),
                    labels[cell],
                    f"{short('defense', b)} − {short('defense', a)}",
                    diff.text_pm(),
                    str(diff.n),
                    excludes,
                ]
            )
    if not rows:
        return None
    n = ctx.study.n_seeds
    note = (
        f"Per-seed differences on the same poisoned training sets; mean ± half-width of its "
        f"{interval_name(n)}. '0 outside': the interval excludes 0."
        if n > 1
        else "One seed: differences without intervals."
    )
    metric = SCALARS.get(name)
    return TextTable(
        f"Paired differences between defenses: {metric.column}",
        [*varying, "budget", "difference", "mean ± CI", "seeds", "0 outside"],
        rows,
        note,
    )
