"""The report's figures (matplotlib, Agg): each built only when the study holds its data.

Every function takes a :class:`~poisonlab.report.study.StudyData` and returns a list of
:class:`ReportFigure` (empty when the study lacks what the figure needs). Figures are
``matplotlib.figure.Figure`` objects made without pyplot, so no global state or GUI backend is
involved and nothing needs closing.

Where a study has many series, figures that show one series each (per-class counts, confusion
matrices, galleries, detector curves) are drawn for the first :data:`MAX_SERIES` attack series
in sorted order; the report says how many it left out.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .study import (
    SCALARS,
    RunRecord,
    SeriesKey,
    StudyData,
    attack_label,
    budget_of,
    defense_label,
    is_clean,
    scalar,
)
from .tables import TextTable, per_class_table

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


@dataclass
class ReportFigure:
    """One figure of the report.

    Attributes
    ----------
    name : str
        File stem (``metric_accuracy``, ``confusion_1``, ...), unique within a report.
    title, caption : str
        Plain text; the HTML template escapes them.
    figure : matplotlib.figure.Figure
    tables : list of TextTable
        The numbers behind the figure, shown beside it.
    """

    name: str
    title: str
    caption: str
    figure: Any
    tables: list[TextTable] = field(default_factory=list)

    def render(self, fmt: str) -> bytes:
        """The figure as ``png`` or ``svg`` bytes (fonts as paths: nothing to fetch)."""
        buffer = io.BytesIO()
        metadata = {"Date": None} if fmt == "svg" else {}
        self.figure.savefig(buffer, format=fmt, dpi=110, metadata=metadata)
        return buffer.getvalue()


def plain(text: object) -> str:
    """Text for matplotlib: ``$`` escaped, so names from data never start math mode."""
    return str(text).replace("$", r"\$")


def new_figure(width: float, height: float):
    """A pyplot-free Agg figure of ``width`` x ``height`` inches (shared with the audit report)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _attack_series(study: StudyData) -> tuple[list[list[RunRecord]], int]:
    """Undefended attack series (runs with budget > 0), capped at MAX_SERIES; and how many."""
    groups = [
        [r for r in runs if not is_clean(r)]
        for key, runs in study.series().items()
        if key.defense == "none" and any(not is_clean(r) for r in runs)
    ]
    return groups[:MAX_SERIES], len(groups)


def _left_out(shown: int, total: int) -> str:
    return "" if shown == total else f" Shown for {shown} of {total} attack series."


def _showcase(runs: list[RunRecord]) -> RunRecord:
    """The run a per-series figure shows: the largest budget, lowest seed."""
    return max(runs, key=lambda r: (budget_of(r), -r.seed))


def legend_labels(keys: list[SeriesKey], *, dataset: bool) -> tuple[dict[SeriesKey, str], str]:
    """Short legend labels: only the parts (model, attack, defense) that differ between the
    series, each wrapped to fit under a plot; and the parts they all share, for a title."""
    import textwrap

    fields = (["dataset"] if dataset else []) + ["model", "attack", "defense"]
    varying = [f for f in fields if len({getattr(k, f) for k in keys}) > 1]
    common = [getattr(keys[0], f) for f in fields if f not in varying] if keys else []

    def wrap(text: str) -> str:
        return textwrap.fill(plain(text), 70, break_long_words=True, break_on_hyphens=False)

    labels = {k: wrap(" · ".join(getattr(k, f) for f in varying)) for k in keys}
    return labels, wrap(" · ".join(common))


def _series_title(study: StudyData, record: RunRecord) -> str:
    key = SeriesKey(record.dataset, record.model, attack_label(record), "none")
    return key.label(dataset=study.several_datasets).rsplit(" · ", 1)[0]


# ------------------------------------------------------------------ metric versus budget


def metric_figures(study: StudyData) -> list[ReportFigure]:
    """One figure per scalar metric measured: mean over seeds per budget, band min..max."""
    out = []
    datasets = sorted({r.dataset for r in study.runs})
    series = study.series()
    for name, metric in SCALARS.items():
        title = metric.title
        if not any(scalar(r, name) is not None for r in study.runs):
            continue
        fig = new_figure(6.4 * min(len(datasets), 2), 4.2 + 0.22 * min(len(series), 20))
        axes = fig.subplots(1, len(datasets), squeeze=False)[0]
        for ax, dataset in zip(axes, datasets, strict=True):
            keys = [k for k in series if k.dataset == dataset]
            labels, common = legend_labels(keys, dataset=False)
            drawn = [_draw_series(ax, k, series[k], name, labels[k]) for k in keys]
            if not any(drawn):
                ax.set_axis_off()
                continue
            ax.set_xlabel("poison budget (training samples)")
            ax.set_ylabel(plain(title))
            heading = [plain(dataset)] if len(datasets) > 1 else []
            ax.set_title("\n".join([*heading, common]), fontsize="medium")
            ax.grid(alpha=0.3)
            if len(keys) > 1:
                ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.15))
        n_seeds = len({r.seed for r in study.runs})
        band = " Band: lowest to highest over seeds." if n_seeds > 1 else ""
        dashed = (
            " Dashed: runs without an attack." if any(k.attack == "none" for k in series) else ""
        )
        out.append(
            ReportFigure(
                f"metric_{name}",
                f"{title} versus poison budget",
                "One line per model, attack and defense"
                + (f"; points are means over {n_seeds} seeds." if n_seeds > 1 else "; one seed.")
                + band
                + dashed,
                fig,
            )
        )
    return out


def _draw_series(ax, key: SeriesKey, runs: list[RunRecord], metric: str, label: str) -> bool:
    points: dict[int, list[float]] = {}
    for r in runs:
        value = scalar(r, metric)
        if value is not None:
            points.setdefault(budget_of(r), []).append(value)
    if not points:
        return False
    if key.attack == "none":
        ax.axhline(np.mean(points[0]), linestyle="--", color="0.4", label=label)
        return True
    budgets = sorted(points)
    mean = [np.mean(points[b]) for b in budgets]
    (line,) = ax.plot(budgets, mean, marker="o", markersize=3, label=label)
    if any(len(points[b]) > 1 for b in budgets):
        low = [min(points[b]) for b in budgets]
        high = [max(points[b]) for b in budgets]
        ax.fill_between(budgets, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    return True


# ------------------------------------------------------------------- the lab's figure


def default_budgets(budgets: list[int]) -> list[int]:
    """Up to three poisoned budgets to show: all of them, or the smallest, middle, largest."""
    poisoned = sorted(b for b in set(budgets) if b > 0)
    if len(poisoned) <= 3:
        return poisoned
    return [poisoned[0], poisoned[len(poisoned) // 2], poisoned[-1]]


def per_class_figures(study: StudyData, budgets: list[int] | None = None) -> list[ReportFigure]:
    """Per-class mistakes, clean versus poisoned at chosen budgets, by both counting rules.

    Parameters
    ----------
    study : StudyData
    budgets : list of int, optional
        Budgets to show (those the series has); default :func:`default_budgets`.
    """
    out = []
    groups, total = _attack_series(study)
    _check_budgets(budgets, {budget_of(r) for runs in groups for r in runs})
    for i, runs in enumerate(groups):
        runs = [r for r in runs if r.metrics.get("per_class")]
        if not runs:
            continue
        available = sorted({budget_of(r) for r in runs})
        chosen = default_budgets(available) if budgets is None else budgets
        chosen = [b for b in chosen if b in available]
        if not chosen:
            continue
        clean = [c for c in (study.clean_twin(r) for r in runs) if c is not None]
        columns: dict[str, list[RunRecord]] = {}
        if clean:
            columns["clean"] = list({c.key: c for c in clean}.values())
        for b in chosen:
            columns[f"N={b}"] = [r for r in runs if budget_of(r) == b]
        out.append(_per_class_figure(study, i, runs[0], columns, _left_out(len(groups), total)))
    return out


def _check_budgets(budgets: list[int] | None, available: set[int]) -> None:
    # The clean run (budget 0) is always shown; any other budget must be one the study ran.
    unknown = sorted(set(budgets or []) - available - {0})
    if unknown:
        raise ValueError(
            f"budgets: {unknown[0]} is not a poison budget of this study; its budgets are "
            f"{', '.join(map(str, sorted(available | {0})))}."
        )


def _per_class_figure(
    study: StudyData, index: int, first: RunRecord, columns: dict[str, list[RunRecord]], note: str
) -> ReportFigure:
    classes = study.classes(first)
    n_seeds = max(len(runs) for runs in columns.values())
    fig = new_figure(max(7.0, 0.55 * len(classes) * (len(columns) + 1) / 2), 6.4)
    axes = fig.subplots(2, 1, sharex=True)
    x = np.arange(len(classes))
    width = 0.8 / len(columns)
    tables = []
    for ax, (rule, (rule_title, rule_text)) in zip(axes, COUNT_RULES.items(), strict=True):
        counts = {}
        for j, (label, runs) in enumerate(columns.items()):
            # Mean over seeds (one seed in the lab: the counts themselves).
            values = np.mean([r.metrics["per_class"][rule] for r in runs], axis=0)
            counts[label] = [round(float(v), 1) if n_seeds > 1 else int(v) for v in values]
            color = "0.55" if label == "clean" else f"C{j}"
            ax.bar(
                x + (j - (len(columns) - 1) / 2) * width, values, width, label=label, color=color
            )
        ax.set_title(plain(f"{rule_title}: {rule_text}"), fontsize="medium", loc="left")
        ax.set_ylabel("test inputs")
        ax.grid(axis="y", alpha=0.3)
        tables.append(per_class_table(classes, counts, rule_title, rule_text))
    axes[0].legend(title="training set", fontsize="small")
    axes[1].set_xticks(x, [plain(c) for c in classes])
    axes[1].set_xlabel("class")
    seeds = f" Counts are means over {n_seeds} seeds." if n_seeds > 1 else ""
    return ReportFigure(
        f"per_class_{index + 1}",
        f"Mistakes per class, clean versus poisoned: {_series_title(study, first)}",
        "Top: a wrong prediction counted under the class it was predicted as (how the ML 106 "
        "lab counts). Bottom: counted under its true class. N is the number of poisoned "
        f"training samples.{seeds}{note}",
        fig,
        tables,
    )


# ------------------------------------------------------------------- confusion matrices


def confusion_figures(study: StudyData) -> list[ReportFigure]:
    """Clean, poisoned and defended confusion matrices, and their differences from clean."""
    out = []
    groups, total = _attack_series(study)
    for i, runs in enumerate(groups):
        poisoned = _showcase(runs)
        if not poisoned.metrics.get("confusion"):
            continue
        clean = study.clean_twin(poisoned)
        defended = [d for d in study.defended_twins(poisoned) if d.metrics.get("confusion")]
        out.append(_confusion_figure(study, i, poisoned, clean, defended, total, len(groups)))
    return out


def _confusion_figure(study, index, poisoned, clean, defended, total, shown) -> ReportFigure:
    classes = study.classes(poisoned)
    matrices = {}
    if clean is not None and clean.metrics.get("confusion"):
        matrices["clean"] = np.asarray(clean.metrics["confusion"])
    matrices[f"poisoned (N={budget_of(poisoned)})"] = np.asarray(poisoned.metrics["confusion"])
    for d in defended:
        matrices[f"after {defense_label(d)}"] = np.asarray(d.metrics["confusion"])
    has_clean = "clean" in matrices
    n_cols = len(matrices)
    side = max(3.0, 0.32 * len(classes) + 1.2)
    fig = new_figure(side * n_cols, side * (2 if has_clean else 1))
    axes = fig.subplots(2 if has_clean else 1, n_cols, squeeze=False)
    for ax, (title, m) in zip(axes[0], matrices.items(), strict=True):
        _matrix(ax, m, classes, plain(title), "Blues", vmin=0, vmax=None)
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
            _matrix(ax, d, classes, plain(f"{title} − clean"), "RdBu_r", -limit, limit, signed=True)
    caption = (
        "Rows: true class; columns: predicted class; counts of test inputs (empty cells: 0). "
        f"Seed {poisoned.seed}."
        + ("" if has_clean else " The study has no clean run to compare with.")
        + _left_out(shown, total)
    )
    return ReportFigure(
        f"confusion_{index + 1}",
        f"Confusion matrices: {_series_title(study, poisoned)}",
        caption,
        fig,
    )


def _matrix(ax, m, classes, title, cmap, vmin, vmax, signed=False) -> None:
    ax.imshow(m, cmap=cmap, vmin=vmin, vmax=vmax)
    ticks = np.arange(len(classes))
    names = [plain(c) for c in classes]
    ax.set_xticks(ticks, names, rotation=90 if max(map(len, names)) > 3 else 0)
    ax.set_yticks(ticks, names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize="medium")
    if len(classes) > ANNOTATE_UP_TO:
        return
    top = max(1, np.abs(m).max())
    for (r, c), v in np.ndenumerate(m):
        if v == 0:  # blank: easier to read, and a tenth of the text to draw
            continue
        text = f"{v:+d}" if signed else str(v)
        dark = abs(v) > 0.6 * top
        ax.text(c, r, text, ha="center", va="center", fontsize=7, color="w" if dark else "k")


# ---------------------------------------------------------------------------- galleries


def gallery_figures(study: StudyData) -> list[ReportFigure]:
    """Poisoned training images with their labels; for backdoors, test inputs with and
    without the trigger and what the poisoned model predicted for each."""
    out = []
    groups, total = _attack_series(study)
    note = _left_out(len(groups), total)
    for i, runs in enumerate(groups):
        record = _showcase(runs)
        arrays = study.arrays(record)
        if "gallery_images" not in arrays or not len(arrays["gallery_images"]):
            continue
        out.append(_training_gallery(study, i, record, arrays, note))
        if "gallery_test_triggered" in arrays and "y_pred_triggered" in arrays:
            out.append(_trigger_gallery(study, i, record, arrays, note))
    return out


def show_images(axes_row, images, titles) -> None:
    """Draw one grey image per axis with its title (galleries of the report and the audit)."""
    for ax, image, title in zip(axes_row, images, titles, strict=True):
        ax.imshow(image, cmap="gray_r", interpolation="nearest")
        ax.set_title(plain(title), fontsize="small")
        ax.set_xticks([])
        ax.set_yticks([])


def _training_gallery(study, index, record, arrays, note) -> ReportFigure:
    images = arrays["gallery_images"]
    titles = [
        f"{true or 'added'} → {poisoned}"
        for true, poisoned in zip(
            arrays["gallery_y_true"], arrays["gallery_y_poisoned"], strict=True
        )
    ]
    fig = new_figure(1.3 * len(images) + 0.4, 1.9)
    axes = fig.subplots(1, len(images), squeeze=False)[0]
    show_images(axes, images, titles)
    return ReportFigure(
        f"gallery_{index + 1}",
        f"Poisoned training samples: {_series_title(study, record)}",
        f"The first {len(images)} of the {budget_of(record)} poisoned training samples of "
        f"seed {record.seed}, as the model saw them; above each: its true label → the label "
        f"it was trained with ('added': a row the attack inserted).{note}",
        fig,
    )


def _trigger_gallery(study, index, record, arrays, note) -> ReportFigure:
    rows = arrays["gallery_test_rows"]
    y_pred = study.arrays(record)["y_pred"][rows]
    y_trig = arrays["y_pred_triggered"][rows]
    labels = arrays["gallery_test_labels"]
    n = len(rows)
    fig = new_figure(1.3 * n + 0.4, 3.6)
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
        f"trigger_{index + 1}",
        f"Backdoor: clean and triggered test inputs: {_series_title(study, record)}",
        f"Top: test inputs as they are; bottom: the same inputs with the trigger. 'pred' is "
        f"the poisoned model's prediction (N={budget_of(record)}, seed {record.seed}).{note}",
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


def detector_figures(study: StudyData) -> list[ReportFigure]:
    """ROC and precision-recall curves of each detector, at each attack's largest budget."""
    out = []
    defended = [r for r in study.runs if r.defense != "none" and not is_clean(r)]
    by_attack: dict[tuple, list[RunRecord]] = {}
    for r in defended:
        by_attack.setdefault((r.dataset, r.model, attack_label(r)), []).append(r)
    keys = sorted(by_attack)
    for i, key in enumerate(keys[:MAX_SERIES]):
        runs = by_attack[key]
        top = max(budget_of(r) for r in runs)
        seed = min(r.seed for r in runs if budget_of(r) == top)
        chosen = [r for r in runs if budget_of(r) == top and r.seed == seed]
        fig = new_figure(10.0, 4.4)
        ax_roc, ax_pr = fig.subplots(1, 2)
        base_rates = []
        for r in sorted(chosen, key=lambda r: r.run_id):
            scores = study.arrays(r).get("detector_scores")
            if scores is None:
                continue
            truth = detection_truth(study, r, len(scores))
            if truth is None or truth.all() or not truth.any():
                continue
            fpr, tpr = roc_points(truth, scores)
            recall, precision = pr_points(truth, scores)
            label = plain(defense_label(r))
            ax_roc.plot(fpr, tpr, label=f"{label} (AUC {area(fpr, tpr):.3f})")
            ax_pr.step(recall, precision, where="pre", label=label)
            base_rates.append(truth.mean())
        if not base_rates:
            continue
        ax_roc.plot([0, 1], [0, 1], color="0.7", linestyle=":", label="chance")
        ax_roc.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
        ax_pr.axhline(base_rates[0], color="0.7", linestyle=":", label="chance")
        ax_pr.set(xlabel="recall", ylabel="precision", title="Precision-recall")
        for ax in (ax_roc, ax_pr):
            ax.grid(alpha=0.3)
            ax.legend(fontsize="small")
        record = chosen[0]
        out.append(
            ReportFigure(
                f"detection_{i + 1}",
                f"Detectors: {_series_title(study, record)}",
                "Each detector's scores against the truly poisoned rows: the training rows "
                "the attack changed or added, or, for a detector of test inputs (e.g. STRIP), "
                f"the triggered copies of the test inputs. N={top}, seed {seed}."
                + _left_out(min(len(keys), MAX_SERIES), len(keys)),
                fig,
            )
        )
    return out


# --------------------------------------------------------------------- certified accuracy


def certified_rows(record: RunRecord) -> list[dict] | None:
    """The ``certified_accuracy`` metric: rows of ``radius`` and ``certified_accuracy``."""
    rows = record.metrics.get("certified_accuracy")
    if not isinstance(rows, list) or not rows:
        return None
    return [r for r in rows if isinstance(r, dict) and {"radius", "certified_accuracy"} <= set(r)]


def certified_figures(study: StudyData) -> list[ReportFigure]:
    """Certified accuracy versus radius, one line per series and budget (lowest seed)."""
    runs = [r for r in study.runs if certified_rows(r)]
    if not runs:
        return []
    fig = new_figure(7.0, 4.6)
    ax = fig.subplots()
    series = study.series(runs)
    labels, common = legend_labels(list(series), dataset=study.several_datasets)
    for key, group in series.items():
        seed = min(r.seed for r in group)
        for r in (r for r in group if r.seed == seed):
            rows = certified_rows(r)
            label = ", ".join(t for t in (labels[key], f"N={budget_of(r)}") if t)
            ax.step(
                [row["radius"] for row in rows],
                [row["certified_accuracy"] for row in rows],
                where="post",
                label=label,
            )
    ax.set(xlabel="radius (poisoned training samples)", ylabel="certified accuracy")
    ax.set_title(common, fontsize="medium")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.15))
    return [
        ReportFigure(
            "certified",
            "Certified accuracy versus radius",
            "Fraction of test inputs predicted correctly with a certificate that holds against "
            "at least that many poisoned training samples (lowest seed of each series).",
            fig,
        )
    ]


def all_figures(study: StudyData, budgets: list[int] | None = None) -> list[ReportFigure]:
    """Every figure the study has the data for, in report order."""
    return [
        *metric_figures(study),
        *per_class_figures(study, budgets),
        *confusion_figures(study),
        *gallery_figures(study),
        *detector_figures(study),
        *certified_figures(study),
    ]
