"""The registered reproductions: ``ml106``, ``biggio2012``, ``paudice2018``, and the pending
``dpa2021``, ``steinhardt2017`` and ``koh2022``.

Each set-up is a study spec, run by the study runner; each figure reads poisonlab's values from
the stored runs' metrics.
"""

from __future__ import annotations

from collections.abc import Callable

from ..experiment.store import RunRecord
from ..labs.ml106 import lab_spec_text
from .base import Figure, Reproduction, at_least, between, exact, within_seeds

# -- readers ---------------------------------------------------------------------------------


def _select(runs: list[RunRecord], **equal) -> list[RunRecord]:
    """The runs whose columns equal ``equal`` (e.g. ``budget=10``), in run-id order; none is
    an error (the spec and the figure disagree)."""
    chosen = [r for r in runs if all(getattr(r, k) == v for k, v in equal.items())]
    if not chosen:
        raise RuntimeError(f"no stored run has {equal}")
    return chosen


def incorrect_by_predicted(budget: int, cls: str) -> Callable[[list[RunRecord]], list[float]]:
    """The lab's count: test images predicted ``cls`` whose true class differs, at ``budget``."""

    def read(runs: list[RunRecord]) -> list[float]:
        values = []
        for run in _select(runs, budget=budget):
            per_class = run.metrics["per_class"]
            values.append(per_class["incorrect_by_predicted"][per_class["classes"].index(cls)])
        return values

    return read


def test_error(
    budget: int, defense: str = "none", **equal
) -> Callable[[list[RunRecord]], list[float]]:
    """1 - accuracy on the test set, one value per run (seed) at ``budget`` with ``defense``
    (and any other column equal to ``equal``, e.g. ``attack="alfa"``)."""

    def read(runs: list[RunRecord]) -> list[float]:
        chosen = _select(runs, budget=budget, defense=defense, **equal)
        return [1.0 - r.metrics["accuracy"] for r in chosen]

    return read


def error_removed(
    budget: int, defense: str, attack: str
) -> Callable[[list[RunRecord]], list[float]]:
    """The share of ``attack``'s added test error that ``defense`` removes, per seed:
    ``(attacked - defended) / (attacked - clean)``; clean is the run of budget 0."""

    def read(runs: list[RunRecord]) -> list[float]:
        clean = test_error(0)(runs)
        attacked = test_error(budget, attack=attack)(runs)
        defended = test_error(budget, defense, attack=attack)(runs)
        return [
            (a - d) / (a - c) if a > c else 0.0
            for c, a, d in zip(clean, attacked, defended, strict=True)
        ]

    return read


# -- ml106 ------------------------------------------------------------------------------------

_LAB = "the lab's printed counts"
_ML106_FIGURES = tuple(
    Figure(
        f"{'clean' if n == 0 else f'N = {n}'}: incorrect {cls}'s",
        str(published),
        exact(published),
        incorrect_by_predicted(n, cls),
        source=source,
    )
    for n, cls, published, source in (
        (0, "1", 2, _LAB),
        (0, "2", 12, _LAB),
        (10, "1", 2, _LAB),
        (10, "2", 11, _LAB),
        (30, "1", 2, _LAB),
        (30, "2", 13, _LAB),
        (100, "1", 1, "poisonlab's own recorded figure (README.md): the lab prints none"),
        (100, "2", 33, "poisonlab's own recorded figure (README.md): the lab prints none"),
    )
)

ML106 = Reproduction(
    name="ml106",
    title="The ML 106 lab: relabel the first N training '1's as '2'",
    reference=(
        '"ML 106: Data Poisoning" lab (MNIST, scikit-learn SVC), its printed counts of '
        '"incorrect 1\'s" and "incorrect 2\'s" for the clean model and N = 10 and 30 (the '
        "project's seed document shared/seeds/000_da328def3e17b352.txt)."
    ),
    setup=(
        "MNIST training rows 0..1999, test rows 60000..60999, SVC(random_state=42) with "
        "defaults; the first N training '1's relabelled '2' (label_flip, select=first), "
        "N = 0, 10, 30, 100. The lab counts a wrong prediction under the predicted class "
        "(incorrect[int(p)] += 1), so \"incorrect 2's\" are images predicted '2' that are not 2s."
    ),
    spec=lab_spec_text([0, 10, 30, 100], source="1", target="2", train_size=2000, test_size=1000),
    figures=_ML106_FIGURES,
    differences=(
        "None: the counts are reproduced exactly. The lab prints no figure for N = 100; its "
        "row holds poisonlab's own recorded figure, so a change of it is seen."
    ),
)

# -- biggio2012 -------------------------------------------------------------------------------

#: MNIST's 7s and 1s (``mnist:7,1``): 13,007 training rows, then the 2,163 test rows.
_PAIR_TRAIN, _PAIR_ROWS = 13_007, 15_170

BIGGIO2012 = Reproduction(
    name="biggio2012",
    title="One gradient-ascent poisoning point against a linear SVM, MNIST 7 vs 1",
    reference=(
        'B. Biggio, B. Nelson & P. Laskov, "Poisoning Attacks against Support Vector '
        'Machines", ICML 2012 (arXiv:1206.6389), Sec. 5.2 and Fig. 2 (MNIST 7 vs 1, linear '
        "kernel, C = 1)."
    ),
    setup=(
        "MNIST 7s and 1s, pixels / 255 (dataset mnist:7,1); per seed, a new random draw of "
        "100 training and 500 validation images from MNIST's 13,007 training 7s and 1s "
        '(split train_size, validation_size, seed = "repetition"); test: all 2,163 7s '
        "and 1s among MNIST's test rows; SVC(kernel='linear', C=1). svm_gradient adds one "
        "point labelled 1, starting from a random training 7, moved by up to 200 gradient "
        "steps in the box [0, 1] to raise the hinge loss on the 500 validation images; five "
        "draws (seeds 0-4)."
    ),
    spec=f"""# Biggio, Nelson & Laskov (ICML 2012), Fig. 2: MNIST 7 vs 1, one poisoning point.
name = "biggio2012"
seeds = [0, 1, 2, 3, 4]

[dataset]
name = "mnist:7,1"

# Per seed: 100 training and 500 validation images (the attacker's) drawn from the train range.
[dataset.split]
train = [0, {_PAIR_TRAIN}]
test = [{_PAIR_TRAIN}, {_PAIR_ROWS}]
train_size = 100
validation_size = 500
seed = "repetition"

[[models]]
name = "svc"
params = {{ kernel = "linear", C = 1.0 }}

[[attacks]]
name = "svm_gradient"
params = {{ classes = ["7", "1"], box = [0.0, 1.0], max_iter = 200, label = "1" }}
budget = [0, 1]

[[defenses]]
name = "none"
""",
    figures=(
        Figure(
            "clean test error",
            '2-5% ("initial error rates of 2-5%", over 7 vs 1, 9 vs 8 and 4 vs 0)',
            between(0.02, 0.05),
            test_error(0),
            source="Sec. 5.2",
        ),
        Figure(
            "test error after one point (mean of the seeds)",
            '15-20% ("a single attack data point caused the classification error to rise '
            'from the initial error rates of 2-5% to 15-20%")',
            between(0.15, 0.20),
            test_error(1),
            source="Sec. 5.2, Fig. 2 (exemplary runs)",
        ),
        Figure(
            "test error after one point (some seed reaches 15%)",
            "15% (the low end of the exemplary runs' range)",
            within_seeds(0.15),
            test_error(1),
            source="Sec. 5.2, Fig. 2 (exemplary runs)",
        ),
    ),
    differences=(
        "The set-up is the paper's: 100 training and 500 validation images drawn at random "
        "per seed, the complete MNIST test 7s and 1s, a linear SVM with C = 1, one point "
        "starting from a training 7 labelled 1 and moved inside [0, 1]. The paper shows "
        'exemplary runs ("15-20%", Fig. 2, one run per digit pair), not an average over '
        "draws: poisonlab's runs reach that range in some draws (the third figure passes) "
        "but their mean over five draws is below it, so the mean's rule fails. The same "
        "set-up outside the runner (examples/svm_poisoning_figures.py, other attack seeds) "
        "gives a mean of 0.123 [0.073, 0.170] (docs/attacks.md), and stronger optimizers of "
        "the same threat model (restarts, look-ahead starts) 12.8% at best over 10 draws: "
        "the gap is not the set-up. Fig. 3 (several points) is not encoded: its values are "
        "read off a plot. The clean range, 2-5%, spans three digit pairs: single draws of 7s "
        "and 1s fall just below it (1.7%), their mean within it."
    ),
)

# -- paudice2018 ------------------------------------------------------------------------------

_PAUDICE_SOURCE = "abstract and Sec. 5 (a claim; the figures' values are plots)"
_PAUDICE_CLAIM = (
    "the defense mitigates the attack (poisonlab's reading: the defended error is closer to "
    "the clean error than to the attacked one, i.e. at least half of the added error is removed)"
)

PAUDICE2018 = Reproduction(
    name="paudice2018",
    title="k-NN label sanitization against label flips, MNIST 7 vs 1",
    reference=(
        'A. Paudice, L. Muñoz-González & E. C. Lupu, "Label Sanitization against Label '
        'Flipping Poisoning Attacks", ECML PKDD 2018 Workshops (arXiv:1803.00992), Sec. 4-5: '
        "k-NN relabelling (k neighbours, confidence eta) against optimal label flips."
    ),
    setup=(
        "MNIST 7s and 1s, pixels / 255 (dataset mnist:7,1); training: the first 1,000 in "
        "MNIST order; test: the 2,163 test 7s and 1s; SVC(kernel='linear', C=1). Two "
        "optimized flipping attacks stand in for the paper's: alfa (Xiao et al.'s relaxation, "
        "flips in both classes against the linear SVM) and label_flip with select=loss (the "
        "7s a surrogate finds costliest, relabelled 1); 100 and 200 flips (10% and 20% of the "
        "training set); random_flip as the unoptimized baseline. The defense is the paper's: "
        "knn_label with k = 10 and eta = 0.5 relabelling (action = relabel) each point whose "
        "neighbours' majority label differs."
    ),
    spec=f"""# Paudice, Muñoz-González & Lupu (2018): k-NN label sanitization against label flips.
name = "paudice2018"
seeds = [0]

[dataset]
name = "mnist:7,1"
split = {{ train = [0, 1000], test = [{_PAIR_TRAIN}, {_PAIR_ROWS}] }}

[[models]]
name = "svc"
params = {{ kernel = "linear", C = 1.0 }}

[[attacks]]
name = "label_flip"
params = {{ source = "7", target = "1", select = "loss" }}
budget = [0, 100, 200]

[[attacks]]
name = "alfa"
params = {{ classes = ["7", "1"] }}
budget = [100, 200]

[[attacks]]
name = "random_flip"
budget = [200]

[[defenses]]
name = "none"

# The paper relabels what it flags (its Algorithm: the neighbours' majority label).
[[defenses]]
name = "knn_label"
params = {{ n_neighbors = 10, confidence = 0.5, action = "relabel" }}
""",
    figures=(
        *(
            Figure(
                f"share of the added test error removed, {attack} {n} flips",
                _PAUDICE_CLAIM,
                at_least(0.5),
                error_removed(n, "knn_label", attack),
                source=_PAUDICE_SOURCE,
            )
            for attack in ("alfa", "label_flip")
            for n in (100, 200)
        ),
        Figure(
            "share of the added test error removed, random_flip 200 flips",
            "not published (the unoptimized baseline)",
            None,
            error_removed(200, "knn_label", "random_flip"),
            source="poisonlab's baseline",
            not_comparable="the paper has no random-flip figure; shown as the easy case",
        ),
        *(
            Figure(
                f"test error, alfa 200 flips, {defense}",
                "plotted only",
                None,
                test_error(200, defense, attack="alfa"),
                source="Sec. 5",
                not_comparable="the paper's values are read off its plots, which are not here",
            )
            for defense in ("none", "knn_label")
        ),
    ),
    differences=(
        "The defense is the paper's (k-NN relabelling, k = 10, eta = 0.5); the previous "
        "version of this entry dropped the flagged points instead of relabelling them, which "
        "the paper does not do. Not available offline here: the paper's own greedy optimal "
        "label-flipping attack (alfa, an optimal-flip relaxation against the same SVM, and "
        "label_flip select=loss stand in), its other datasets, and the numbers behind its "
        "plots, so only its claim is checked. The training size and digits are poisonlab's "
        "choice. Where it fails: at 20% flips both optimized attacks flip only 7s, the ones "
        "closest to the 1s, so most of a flipped point's 10 nearest neighbours are flipped "
        "points too (under random flips, few are) and the majority vote confirms the wrong "
        "label; against random flips of the same budget the same defense removes most of "
        "the added error (the random_flip figure). At 10% it removes part of it, under "
        "half. Whether the paper's greedy attack concentrates its flips less cannot be checked "
        "without it."
    ),
)

# -- pending ----------------------------------------------------------------------------------

DPA2021 = Reproduction(
    name="dpa2021",
    title="Deep Partition Aggregation certificates on MNIST",
    reference=(
        'A. Levine & S. Feizi, "Deep Partition Aggregation: Provable Defenses against '
        'General Poisoning Attacks", ICLR 2021: the MNIST table (k = 1200 and 3000) and '
        "appendix B's 2-means MNIST 1-vs-7 certificate."
    ),
    setup="Partition ensembles with certified accuracy by radius (poisonlab certify).",
    pending=(
        "the DPA certificate (issue 14) runs as `poisonlab certify`, outside the study "
        "runner; the entry needs it as a study spec (docs/certify.md compares its MNIST "
        "figures with the paper's Table 1 by hand)."
    ),
)

STEINHARDT2017 = Reproduction(
    name="steinhardt2017",
    title="The sphere+slab upper bound on MNIST-1-7",
    reference=(
        'J. Steinhardt, P. W. Koh & P. Liang, "Certified Defenses for Data Poisoning '
        'Attacks", NeurIPS 2017: the sphere+slab upper bound on MNIST-1-7.'
    ),
    setup="The data-dependent sphere and slab defenses and their certificate.",
    pending=(
        "sphere_slab_bound (issue 14) runs as `poisonlab certify`, outside the study "
        "runner; the entry needs it as a study spec."
    ),
)

KOH2022 = Reproduction(
    name="koh2022",
    title="Defense-aware attacks against sanitizers on MNIST-1-7",
    reference=(
        'P. W. Koh, J. Steinhardt & P. Liang, "Stronger Data Poisoning Attacks Break Data '
        'Sanitization Defenses", Machine Learning 111 (2022), on MNIST-1-7.'
    ),
    setup="Defense-aware attacks (influence, KKT, min-max) against sanitizers.",
    pending=(
        "the defense-aware attacks (issue 15) are registered attacks, but this entry's "
        "spec and the paper's figures are not encoded yet."
    ),
)

ALL = (ML106, BIGGIO2012, PAUDICE2018, DPA2021, STEINHARDT2017, KOH2022)
