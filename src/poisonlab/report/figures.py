"""The report's figures (matplotlib, Agg): each kind registered in :data:`FIGURES` and built
only when the study holds its data.

Every kind is a function of a :class:`~poisonlab.report.canvas.Context` returning a list of
:class:`ReportFigure` (empty when the study lacks what it needs). Kinds that show one attack
series each (per-class counts, confusion matrices, backdoor triggers) are drawn for at most
:data:`MAX_SERIES` series; a figure that leaves series out names them. Galleries of poisoned
training samples are drawn once per distinct poisoned set, not once per model or defense.
"""

from __future__ import annotations

import numpy as np

from .._errors import ParameterError
from .._registry import Registry
from .canvas import (
    PANEL_HEIGHT,
    PANEL_WIDTH,
    Context,
    ReportFigure,
    legend_columns,
    new_figure,
    plain,
    show_images,
    wrap,
)
from .curves import metric_figures
from .study import (
    RunRecord,
    StudyData,
    attack_label,
    budget_of,
    budget_spec,
    budget_text,
    defense_label,
    is_clean,
    is_fraction,
)
from .tables import per_class_table

__all__ = ["FIGURES", "ReportFigure", "all_figures", "new_figure", "plain", "show_images"]

#: Figure kinds, in the order a report shows them: ``kind(ctx) -> list of ReportFigure``.
FIGURES: Registry = Registry("report figure", sort=False)
#: Figures that show one attack series each are drawn for at most this many series.
MAX_SERIES = 6
#: Class counts above which confusion matrices are drawn without numbers in their cells.
ANNOTATE_UP_TO = 12

COUNT_RULES = {
    "incorrect_by_predicted": (
        "Incorrect, by predicted class (the ML 106 lab's count)",
        "test inputs predicted as this class whose true label differs (false positives)",
    ),
    "missed_by_true": (
        "Missed, by true class",
        "test inputs of this class predicted as another class (false negatives)",
    ),
}


def _series_name(ctx: Context, record: RunRecord, *, model: bool = True) -> str:
    """``dataset · model · attack`` in short names (dataset only when there are several)."""
    names = ctx.names
    parts = [names.short("dataset", record.dataset)] if ctx.study.several_datasets else []
    if model:
        parts.append(names.short("model", record.model))
    parts.append(names.short("attack", attack_label(record)))
    return " · ".join(parts)


def _attack_series(ctx: Context) -> tuple[list[list[RunRecord]], list[str]]:
    """Undefended attack series (their runs with budget > 0), at most MAX_SERIES; and the
    names of those left out."""
    groups = [
        [r for r in runs if not is_clean(r)]
        for key, runs in ctx.study.series().items()
        if key.defense == "none" and any(not is_clean(r) for r in runs)
    ]
    left_out = [_series_name(ctx, g[0]) for g in groups[MAX_SERIES:]]
    return groups[:MAX_SERIES], left_out


def _left_out(left_out: list[str]) -> str:
    if not left_out:
        return ""
    return (
        f" Not shown ({len(left_out)} more series; choose with --where): "
        + "; ".join(left_out)
        + "."
    )


def _showcase(runs: list[RunRecord]) -> RunRecord:
    """The run a per-series figure shows: the largest budget, lowest seed."""
    return max(runs, key=lambda r: (budget_of(r), -r.seed))


def matches_budget(record: RunRecord, value: float) -> bool:
    """Whether a budget given by the reader (a count, or a fraction as in the spec) is the
    run's."""
    return budget_of(record) == value or (is_fraction(record) and budget_spec(record) == value)


def check_budgets(study: StudyData, budgets: list[float] | None, what: str) -> None:
    """Each budget must be one the study ran (0, the clean run, always is)."""
    for value in budgets or []:
        if value != 0 and not any(matches_budget(r, value) for r in study.runs):
            poisoned = sorted((r for r in study.runs if not is_clean(r)), key=budget_of)
            known = list(dict.fromkeys(budget_text(r, prefix="") for r in poisoned))
            raise ParameterError.named(
                what,
                f"{value:g} is not a poison budget of this study; its budgets are "
                f"{', '.join(['0', *known])}.",
            )


def default_budgets(budgets: list[int]) -> list[int]:
    """Up to three poisoned budgets to show: all of them, or the smallest, middle, largest."""
    poisoned = sorted(b for b in set(budgets) if b > 0)
    if len(poisoned) <= 3:
        return poisoned
    return [poisoned[0], poisoned[len(poisoned) // 2], poisoned[-1]]


def _chosen_runs(runs: list[RunRecord], budgets: list[float] | None) -> list[list[RunRecord]]:
    """Runs grouped by budget: those matching ``budgets``, or :func:`default_budgets`."""
    available = sorted({budget_of(r) for r in runs})
    if budgets is None:
        counts = default_budgets(available)
        return [[r for r in runs if budget_of(r) == b] for b in counts]
    groups = [[r for r in runs if matches_budget(r, v)] for v in budgets]
    return [g for g in groups if g]


# ------------------------------------------------------------------- the lab's figure


def per_class_figures(ctx: Context) -> list[ReportFigure]:
    """Per-class mistakes, clean versus poisoned at chosen budgets, by both counting rules."""
    out = []
    groups, left_out = _attack_series(ctx)
    for i, runs in enumerate(groups):
        runs = [r for r in runs if r.metrics.get("per_class")]
        chosen = _chosen_runs(runs, ctx.budgets)
        if not chosen:
            continue
        clean = [c for c in (ctx.study.clean_twin(r) for r in runs) if c is not None]
        columns: dict[str, list[RunRecord]] = {}
        if clean:
            columns["clean"] = list({c.key: c for c in clean}.values())
        for group in chosen:
            columns[budget_text(group[0])] = group
        out.append(_per_class_figure(ctx, i, runs[0], columns, _left_out(left_out)))
    return out


def _per_class_figure(
    ctx: Context, index: int, first: RunRecord, columns: dict[str, list[RunRecord]], note: str
) -> ReportFigure:
    classes = ctx.study.classes(first)
    n_seeds = max(len(runs) for runs in columns.values())
    fig = new_figure(max(5.2, 0.3 * len(classes) * (len(columns) + 1) / 2), 4.2)
    axes = fig.subplots(2, 1, sharex=True, sharey=True)
    x = np.arange(len(classes))
    width = 0.8 / len(columns)
    tables = []
    greys = {"clean": "0.6"}
    for ax, (rule, (rule_title, rule_text)) in zip(axes, COUNT_RULES.items(), strict=True):
        counts = {}
        for j, (label, runs) in enumerate(columns.items()):
            # Mean over seeds (one seed in the lab: the counts themselves).
            values = np.mean([r.metrics["per_class"][rule] for r in runs], axis=0)
            counts[label] = [round(float(v), 1) if n_seeds > 1 else int(v) for v in values]
            colour = greys.get(label, f"C{j}")
            ax.bar(
                x + (j - (len(columns) - 1) / 2) * width, values, width, label=label, color=colour
            )
        ax.set_title(wrap(f"{rule_title}: {rule_text}", 90), loc="left")
        ax.set_ylabel("test inputs")
        ax.grid(axis="y", alpha=0.3)
        tables.append(per_class_table(classes, counts, rule_title, rule_text))
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        title="training set",
        loc="outside lower center",
        ncols=legend_columns(fig, len(labels)),
    )
    axes[1].set_xticks(x, [plain(c) for c in classes])
    axes[1].set_xlabel("class")
    seeds = f" Counts are means over {n_seeds} seeds." if n_seeds > 1 else ""
    return ReportFigure(
        f"per_class_{index + 1}",
        f"Mistakes per class, clean versus poisoned: {_series_name(ctx, first)}",
        "Top: a wrong prediction counted under the class it was predicted as (how the ML 106 "
        "lab counts). Bottom: counted under its true class. N is the number of poisoned "
        f"training samples (a fraction first when the spec gave one); undefended runs.{seeds}"
        f"{note}",
        fig,
        tables,
    )


# ------------------------------------------------------------------- confusion matrices


def confusion_figures(ctx: Context) -> list[ReportFigure]:
    """Clean, poisoned and defended confusion matrices, and their differences from clean."""
    out = []
    groups, left_out = _attack_series(ctx)
    for i, runs in enumerate(groups):
        chosen = _chosen_runs(runs, [ctx.roc_budget] if ctx.roc_budget is not None else None)
        poisoned = _showcase([r for g in chosen[-1:] for r in g] or runs)
        if not poisoned.metrics.get("confusion"):
            continue
        clean = ctx.study.clean_twin(poisoned)
        defended = [d for d in ctx.study.defended_twins(poisoned) if d.metrics.get("confusion")]
        out.append(_confusion_figure(ctx, i, poisoned, clean, defended, left_out))
    return out


def _confusion_figure(ctx, index, poisoned, clean, defended, left_out) -> ReportFigure:
    classes = ctx.study.classes(poisoned)
    matrices = {}
    if clean is not None and clean.metrics.get("confusion"):
        matrices["clean"] = np.asarray(clean.metrics["confusion"])
    matrices[f"poisoned ({budget_text(poisoned)})"] = np.asarray(poisoned.metrics["confusion"])
    for d in defended:
        matrices[f"after {ctx.names.short('defense', defense_label(d))}"] = np.asarray(
            d.metrics["confusion"]
        )
    has_clean = "clean" in matrices
    n_cols = len(matrices)
    side = max(2.2, 0.2 * len(classes) + 0.9)
    fig = new_figure(side * n_cols, (side + 0.5) * (2 if has_clean else 1) + 0.1)
    axes = fig.subplots(2 if has_clean else 1, n_cols, squeeze=False)
    for ax, (title, m) in zip(axes[0], matrices.items(), strict=True):
        _matrix(ax, m, classes, plain(title), "Blues", 0, None, width=int(side * 14))
    if has_clean:
        axes[1][0].set_axis_off()
        axes[1][0].text(
            0.5,
            0.5,
            "Below: each matrix\nminus the clean one\n(red: more inputs,\nblue: fewer)",
            ha="center",
            va="center",
        )
        base = matrices["clean"]
        diffs = {t: m - base for t, m in matrices.items() if t != "clean"}
        limit = max(1, max(int(np.abs(d).max()) for d in diffs.values()))
        for ax, (title, d) in zip(axes[1][1:], diffs.items(), strict=True):
            title = plain(f"{title} − clean")
            _matrix(
                ax, d, classes, title, "RdBu_r", -limit, limit, signed=True, width=int(side * 14)
            )
    caption = (
        "Rows: true class; columns: predicted class; counts of test inputs (empty cells: 0). "
        f"Seed {poisoned.seed}."
        + ("" if has_clean else " The study has no clean run to compare with.")
        + _left_out(left_out)
    )
    return ReportFigure(
        f"confusion_{index + 1}",
        f"Confusion matrices: {_series_name(ctx, poisoned)}",
        caption,
        fig,
    )


def _matrix(ax, m, classes, title, cmap, vmin, vmax, signed=False, width=40) -> None:
    ax.imshow(m, cmap=cmap, vmin=vmin, vmax=vmax)
    ticks = np.arange(len(classes))
    names = [plain(c) for c in classes]
    ax.set_xticks(ticks, names, rotation=90 if max(map(len, names)) > 3 else 0)
    ax.set_yticks(ticks, names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(wrap(title, width))
    if len(classes) > ANNOTATE_UP_TO:
        return
    top = max(1, np.abs(m).max())
    for (r, c), v in np.ndenumerate(m):
        if v == 0:  # blank: easier to read, and a tenth of the text to draw
            continue
        text = f"{v:+d}" if signed else str(v)
        dark = abs(v) > 0.6 * top
        ax.text(c, r, text, ha="center", va="center", fontsize=6, color="w" if dark else "k")


# ---------------------------------------------------------------------------- galleries


def gallery_figures(ctx: Context) -> list[ReportFigure]:
    """Poisoned training images with their labels, once per distinct poisoned set; for
    backdoors, test inputs with and without the trigger and what each poisoned model
    predicted."""
    out = []
    seen: dict[tuple, bytes] = {}
    n_triggers = 0
    groups, left_out = _attack_series(ctx)
    note = _left_out(left_out)
    for runs in groups:
        record = _showcase(runs)
        arrays = ctx.study.arrays(record)
        if "gallery_images" not in arrays or not len(arrays["gallery_images"]):
            continue
        # Every model of a seed sees the same poisoned set: one gallery for all of them.
        poisoned_set = (record.dataset, attack_label(record), budget_of(record), record.seed)
        fingerprint = arrays["gallery_images"].tobytes() + arrays["gallery_y_poisoned"].tobytes()
        if seen.get(poisoned_set) != fingerprint:
            seen[poisoned_set] = fingerprint
            out.append(_training_gallery(ctx, len(seen), record, arrays, note))
        if "gallery_test_triggered" in arrays and "y_pred_triggered" in arrays:
            n_triggers += 1
            out.append(_trigger_gallery(ctx, n_triggers, record, arrays, note))
    return out


def _training_gallery(ctx, index, record, arrays, note) -> ReportFigure:
    images = arrays["gallery_images"]
    titles = [
        f"{true or 'added'} → {poisoned}"
        for true, poisoned in zip(
            arrays["gallery_y_true"], arrays["gallery_y_poisoned"], strict=True
        )
    ]
    fig = new_figure(0.85 * len(images) + 0.3, 1.25)
    axes = fig.subplots(1, len(images), squeeze=False)[0]
    show_images(axes, images, titles)
    return ReportFigure(
        f"gallery_{index}",
        f"Poisoned training samples: {_series_name(ctx, record, model=False)}",
        f"The first {len(images)} of the {budget_of(record)} poisoned training samples of "
        f"seed {record.seed} ({budget_text(record)}), as every model of that seed saw them; "
        "above each: its true label → the label it was trained with ('added': a row the "
        f"attack inserted).{note}",
        fig,
    )


def _trigger_gallery(ctx, index, record, arrays, note) -> ReportFigure:
    rows = arrays["gallery_test_rows"]
    y_pred = ctx.study.arrays(record)["y_pred"][rows]
    y_trig = arrays["y_pred_triggered"][rows]
    labels = arrays["gallery_test_labels"]
    n = len(rows)
    fig = new_figure(0.85 * n + 0.5, 2.5)
    axes = fig.subplots(2, n, squeeze=False)
    show_images(
        axes[0],
        arrays["gallery_test_images"],
        [f"true {t}\npred {p}" for t, p in zip(labels, y_pred, strict=True)],
    )
    show_images(axes[1], arrays["gallery_test_triggered"], [f"pred {p}" for p in y_trig])
    axes[0][0].set_ylabel("clean")
    axes[1][0].set_ylabel("triggered")
    return ReportFigure(
        f"trigger_{index}",
        f"Backdoor: clean and triggered test inputs: {_series_name(ctx, record)}",
        f"Top: test inputs as they are; bottom: the same inputs with the trigger. 'pred' is "
        f"the poisoned model's prediction ({budget_text(record)}, seed {record.seed}).{note}",
        fig,
    )


# ------------------------------------------------------------------------ detector curves


def detection_truth(study: StudyData, record: RunRecord, n_scores: int) -> np.ndarray | None:
    """Which scored rows are poisoned, as a bool mask; None when it cannot be told.

    Train-scope detectors score the poisoned training set, whose poisoned rows are the
    stored ``poison_indices``. Test-scope detectors (e.g. STRIP) score other rows (the clean
    test set and its triggered copy); the runner stores theirs as ``detector_truth``.
    """
    arrays = study.arrays(record)
    indices = arrays.get("detector_truth", arrays.get("poison_indices"))
    if indices is None or (len(indices) and indices.max() >= n_scores):
        return None
    truth = np.zeros(n_scores, dtype=bool)
    truth[indices] = True
    return truth


def roc_points(truth: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False and true positive rates at every distinct threshold (as ``roc_curve`` gives).

    Computed here rather than with scikit-learn's ``roc_curve``: importing ``sklearn.metrics``
    costs about a second, a third of a report's time, for a cumulative sum.
    """
    tp, fp = _cumulative_hits(truth, scores)
    return np.r_[0.0, fp / fp[-1]], np.r_[0.0, tp / tp[-1]]


def pr_points(truth: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Recall and precision at every distinct threshold, from the strictest; starts at
    (recall 0, precision 1) as ``precision_recall_curve`` ends."""
    tp, fp = _cumulative_hits(truth, scores)
    return np.r_[0.0, tp / tp[-1]], np.r_[1.0, tp / (tp + fp)]


def _cumulative_hits(truth: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Rows by decreasing score; one point per distinct score (ties move together).
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
    s, t = np.asarray(scores, dtype=float)[order], truth[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tp = np.cumsum(t)[last].astype(float)
    return tp, (last + 1 - tp)


def area(x: np.ndarray, y: np.ndarray) -> float:
    """Trapezoidal area under a curve whose x increases."""
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))


def _curve(study: StudyData, record: RunRecord):
    """ROC and PR points of one run's detector, or None when they cannot be drawn."""
    scores = study.arrays(record).get("detector_scores")
    if scores is None:
        return None
    truth = detection_truth(study, record, len(scores))
    if truth is None or truth.all() or not truth.any():
        return None
    return roc_points(truth, scores), pr_points(truth, scores), float(truth.mean())


def detector_figures(ctx: Context) -> list[ReportFigure]:
    """ROC and precision-recall curves of each detector, per attack, at chosen budgets (one
    panel column per budget; lowest seed). Drawn once for all models when the detectors'
    scores are the same for every model, as they are when the detector sees only the
    training set."""
    study = ctx.study
    defended = [r for r in study.runs if r.defense != "none" and not is_clean(r)]
    by_attack: dict[tuple, list[RunRecord]] = {}
    for r in defended:
        by_attack.setdefault((r.dataset, attack_label(r)), []).append(r)
    out = []
    left_out = []
    for key in sorted(by_attack):
        runs = by_attack[key]
        models = sorted({r.model for r in runs})
        subset = [r for r in runs if r.model == models[0]]
        if len(out) >= MAX_SERIES:
            left_out.append(_series_name(ctx, subset[0], model=False))
            continue
        budgets = [ctx.roc_budget] if ctx.roc_budget is not None else ctx.budgets
        if len(models) == 1:
            note = ""
        elif _same_scores(study, runs, models):
            note = " The detectors' scores were the same under every model."
        else:
            note = (
                f" Drawn from the runs with model {ctx.names.short('model', models[0])}: a "
                "detector is given the poisoned training set, never the model, and its runs "
                "under the other models differ only in the detector's random seed."
            )
        figure = _detector_figure(ctx, len(out) + 1, subset, budgets, note)
        if figure is not None:
            out.append(figure)
    if left_out and out:
        out[-1].caption += _left_out(left_out)
    return out


def _same_scores(study: StudyData, runs: list[RunRecord], models: list[str]) -> bool:
    """Whether every model's run of a poisoned set and detector got the same scores."""
    if len(models) < 2:
        return True
    cells: dict[tuple, set] = {}
    for r in runs:
        scores = study.arrays(r).get("detector_scores")
        digest = None if scores is None else scores.tobytes()
        cells.setdefault((defense_label(r), budget_of(r), r.seed), set()).add(digest)
    return all(len(d) == 1 for d in cells.values())


def _detector_figure(ctx, index, runs, budgets, note) -> ReportFigure | None:
    study = ctx.study
    seed = min(r.seed for r in runs)
    columns = _chosen_runs([r for r in runs if r.seed == seed], budgets)
    columns = [c for c in columns if any(_curve(study, r) for r in c)]
    if not columns:
        return None
    fig = new_figure(PANEL_WIDTH * len(columns) + 0.3, 2 * PANEL_HEIGHT + 0.6)
    axes = fig.subplots(2, len(columns), squeeze=False, sharex=True, sharey="row")
    handles = {}
    for j, group in enumerate(columns):
        ax_roc, ax_pr = axes[0][j], axes[1][j]
        base_rate = None
        for r in sorted(group, key=lambda r: r.run_id):
            curve = _curve(study, r)
            if curve is None:
                continue
            (fpr, tpr), (recall, precision), base_rate = curve
            name = ctx.names.short("defense", defense_label(r))
            colour = ctx.style.colours.get(defense_label(r), "0.4")
            (line,) = ax_roc.plot(fpr, tpr, color=colour, label=name)
            ax_pr.step(recall, precision, where="pre", color=colour)
            ax_roc.text(
                0.98,
                0.02 + 0.09 * len(ax_roc.texts),
                f"AUC {area(fpr, tpr):.2f}",
                color=colour,
                ha="right",
                va="bottom",
                transform=ax_roc.transAxes,
                fontsize=7,
            )
            handles.setdefault(name, line)
        chance = ax_roc.plot([0, 1], [0, 1], color="0.7", linestyle=":")[0]
        handles.setdefault("chance", chance)
        if base_rate is not None:
            ax_pr.axhline(base_rate, color="0.7", linestyle=":")
        ax_roc.set_title(f"ROC, {budget_text(group[0])}")
        ax_pr.set_title(f"precision-recall, {budget_text(group[0])}")
        ax_roc.set_xlabel("false positive rate")
        ax_pr.set_xlabel("recall")
        for ax in (ax_roc, ax_pr):
            ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("true positive rate")
    axes[1][0].set_ylabel("precision")
    fig.legend(
        list(handles.values()),
        [plain(h) for h in handles],
        loc="outside lower center",
        ncols=legend_columns(fig, len(handles)),
        frameon=False,
    )
    return ReportFigure(
        f"detection_{index}",
        f"Detectors: {_series_name(ctx, runs[0], model=False)}",
        "Each detector's scores against the truly poisoned rows: the training rows the attack "
        "changed or added, or, for a detector of test inputs (e.g. STRIP), the triggered copies "
        f"of the test inputs. Seed {seed}; one column per budget (choose with --roc-budget or "
        f"--budgets). Dotted: chance (for precision, the share of poisoned rows).{note}",
        fig,
    )


# --------------------------------------------------------------------- certified accuracy


def certified_rows(record: RunRecord) -> list[dict] | None:
    """The ``certified_accuracy`` metric: rows of ``radius`` and ``certified_accuracy``."""
    rows = record.metrics.get("certified_accuracy")
    if not isinstance(rows, list) or not rows:
        return None
    return [r for r in rows if isinstance(r, dict) and {"radius", "certified_accuracy"} <= set(r)]


def certified_figures(ctx: Context) -> list[ReportFigure]:
    """Certified accuracy versus radius, one line per series and budget (lowest seed); the
    certificates of ``[[certificates]]`` are drawn by :func:`certificate_figures` instead."""
    runs = [r for r in ctx.study.runs if certified_rows(r) and not is_certificate(r)]
    if not runs:
        return []
    fig = new_figure(5.2, 3.4)
    ax = fig.subplots()
    series = ctx.study.series(runs)
    fields = [
        f
        for f in ("dataset", "model", "attack", "defense")
        if len({getattr(k, f) for k in series}) > 1
    ]
    for key, group in series.items():
        seed = min(r.seed for r in group)
        for r in (r for r in group if r.seed == seed):
            rows = certified_rows(r)
            parts = [ctx.names.short(f, getattr(key, f)) for f in fields]
            ax.step(
                [row["radius"] for row in rows],
                [row["certified_accuracy"] for row in rows],
                where="post",
                label=plain(", ".join([*parts, f"N={budget_of(r)}"])),
            )
    ax.set(xlabel="radius (poisoned training samples)", ylabel="certified accuracy")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2))
    return [
        ReportFigure(
            "certified",
            "Certified accuracy versus radius",
            "Fraction of test inputs predicted correctly with a certificate that holds against "
            "at least that many poisoned training samples (lowest seed of each series).",
            fig,
        )
    ]


def certificate_figures(ctx: Context) -> list[ReportFigure]:
    """The study's certificates (``[[certificates]]``) compared: certified accuracy versus
    radius, one line per certificate and poisoned training set (lowest seed), one panel per
    unit of radius (poisoned samples, flipped labels)."""
    from ..certify import CERTIFICATES
    from ..experiment.components import CERTIFICATE_PREFIX

    panels: dict[str, dict[str, RunRecord]] = {}
    for r in sorted(ctx.study.runs, key=lambda r: r.seed):
        if not (is_certificate(r) and certified_rows(r)):
            continue
        method = r.config["model"]["name"].removeprefix(CERTIFICATE_PREFIX)
        unit = CERTIFICATES.get(method).radius_unit if method in CERTIFICATES else "radius"
        key = r.model if not ctx.study.several_datasets else f"{r.dataset} · {r.model}"
        if not is_clean(r):
            key += f" · {attack_label(r)} {budget_text(r)}"
        if r.defense != "none":
            key += f" · {defense_label(r)}"
        panels.setdefault(unit, {}).setdefault(key, r)
    if not panels:
        return []
    fig = new_figure(5.2 * len(panels), 3.6)
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, (unit, runs) in zip(axes, panels.items(), strict=True):
        for label, r in runs.items():
            rows = certified_rows(r)
            accuracy = r.metrics.get("accuracy")
            clean = f" (clean {accuracy:.3f})" if isinstance(accuracy, float) else ""
            ax.step(
                [row["radius"] for row in rows],
                [row["certified_accuracy"] for row in rows],
                where="post",
                label=plain(f"{_short_label(ctx, label, CERTIFICATE_PREFIX)}{clean}"),
            )
        ax.set(xlabel=f"radius ({unit})", ylabel="certified accuracy", ylim=(0, 1.02))
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    return [
        ReportFigure(
            "certificates",
            "Certificates compared: certified accuracy versus radius",
            "Fraction of the clean test inputs each certificate predicts correctly with a radius "
            "of at least r, trained on the training set of its run (unpoisoned unless an attack "
            "and budget are named; lowest seed). One panel per "
            "unit of radius; dpa and finite_aggregation count inserted or removed samples, knn "
            "and bagging also modified ones (bagging's radii hold with the confidence it "
            "states). Clean accuracy in brackets.",
            fig,
        )
    ]


def is_certificate(record: RunRecord) -> bool:
    """Whether the run's model is a certificate (a ``[[certificates]]`` entry of its spec)."""
    from ..experiment.components import CERTIFICATE_PREFIX

    return str(record.config.get("model", {}).get("name", "")).startswith(CERTIFICATE_PREFIX)


def _short_label(ctx: Context, label: str, prefix: str) -> str:
    """A certificate's label as given, or the report's short name when it is long."""
    return label if len(label) <= 40 else ctx.names.short("model", label).removeprefix(prefix)


FIGURES.add("metric", metric_figures)
FIGURES.add("per_class", per_class_figures)
FIGURES.add("confusion", confusion_figures)
FIGURES.add("gallery", gallery_figures)
FIGURES.add("detection", detector_figures)
FIGURES.add("certified", certified_figures)
FIGURES.add("certificates", certificate_figures)


def all_figures(ctx: Context, progress=None) -> list[ReportFigure]:
    """Every figure the study has the data for, in report order.

    Parameters
    ----------
    ctx : Context
    progress : callable, optional
        ``progress(kind)`` before each kind is built.
    """
    out = []
    for name, kind in FIGURES.items():
        if progress is not None:
            progress(name)
        out += kind(ctx)
    return out
