"""The registered reproductions: ``ml106``, ``biggio2012``, ``paudice2018``, ``dpa2021``,
``dpa2021_2means``, ``steinhardt2017`` and ``koh2022``.

Each set-up is a study spec, run by the study runner, and each figure reads poisonlab's values
from the stored runs' metrics (the DPA entries' certificates are ``[[certificates]]`` of their
specs); ``steinhardt2017``'s bound certifies no prediction, so it is computed with the Python
API instead.
"""

from __future__ import annotations

from collections.abc import Callable

from ..experiment.store import RunRecord
from ..labs.ml106 import lab_spec_text
from .base import Figure, Reproduction, at_least, at_most, between, exact, within_seeds

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


def _one_point_error(optimizer: str) -> Callable[[list[RunRecord]], list[float]]:
    """Test error after svm_gradient's one point with ``optimizer``, one value per seed."""

    def read(runs: list[RunRecord]) -> list[float]:
        chosen = [
            r
            for r in _select(runs, budget=1)
            if r.config["attack"]["params"].get("optimizer", "gradient") == optimizer
        ]
        return test_error(1)(chosen)

    return read


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
        "draws (seeds 0-4). A stronger optimizer of the same threat model beside it: "
        'svm_gradient(optimizer="cma"), CMA-ES on the validation error over the top 30 '
        "principal directions of the 600 attacker's images, 3000 retrained SVMs, the point "
        "labelled 1 as well."
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

# The same threat model, a stronger optimizer: CMA-ES on the validation error.
[[attacks]]
name = "svm_gradient"
params = {{ classes = ["7", "1"], box = [0.0, 1.0], label = "1", optimizer = "cma" }}
budget = [1]

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
            _one_point_error("gradient"),
            source="Sec. 5.2, Fig. 2 (exemplary runs)",
        ),
        Figure(
            "test error after one point (some seed reaches 15%)",
            "15% (the low end of the exemplary runs' range)",
            within_seeds(0.15),
            _one_point_error("gradient"),
            source="Sec. 5.2, Fig. 2 (exemplary runs)",
        ),
        Figure(
            "test error after one point, CMA-ES optimizer (mean of the seeds)",
            "15-20% (the exemplary runs' range, now asked of the mean)",
            between(0.15, 0.20),
            _one_point_error("cma"),
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
        "gives a mean of 0.123 [0.073, 0.170] (docs/attacks.md), and stronger gradient "
        "optimizers of the same threat model (restarts, look-ahead starts) 12.8% at best over "
        "10 draws: the gap is not the set-up. A derivative-free search of the same threat "
        "model, CMA-ES on the validation error (the fourth figure), reaches the paper's range "
        "on average: the gradient ascent stops at local optima (15.9% over the 10 draws of "
        "docs/attacks.md). Fig. 3 (several points) is not encoded: its values are "
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

# -- dpa2021 ----------------------------------------------------------------------------------

_GPU = (
    "the paper's base model is a Network-in-Network trained with augmentation on a GPU; here "
    "a degree-2 polynomial SVC on deskewed HOG features (CPU): the accuracy is measured, not "
    "held to the paper's"
)
#: (partitions, published clean accuracy, published median radius): DPA's Table 1, MNIST.
_DPA_TABLE = ((1200, 0.9581, 448), (3000, 0.9335, 509))
#: The strongest CPU base model found for DPA on MNIST (docs/certify.md, "DPA on MNIST against
#: the paper"): deskew + HOG features with 7x7-pixel cells under a degree-2 polynomial SVC.
_DPA_BASE = (
    'features = "deskew_hog7", estimator = { name = "svc", params = { kernel = "poly", '
    "degree = 2, coef0 = 1, C = 10 } }"
)


def median_certified_radius(rows: list[dict], n_test: int) -> int:
    """DPA's median certified radius from a run's stored ``certified_accuracy`` rows.

    The value at position ``n_test // 2`` of the sorted radii, a wrong prediction counting as
    -1 (:attr:`~poisonlab.certify.Certification.median_radius`): the largest radius ``r`` at
    which at least ``n_test - n_test // 2`` test inputs are certified correct, else -1.

    Parameters
    ----------
    rows : list of dict
        ``{"radius", "n_certified", ...}`` for radii 0, 1, ... up to past the largest.
    n_test : int
    """
    needed = n_test - n_test // 2
    return max((row["radius"] for row in rows if row["n_certified"] >= needed), default=-1)


def certified(label: str, what: str) -> Callable[[list[RunRecord]], list[float]]:
    """``what`` (``"clean_accuracy"`` or ``"median_radius"``) of the certificate labelled
    ``label`` in the spec, one value per run."""

    def read(runs: list[RunRecord]) -> list[float]:
        values = []
        for run in _select(runs, model=label):
            if what == "clean_accuracy":
                values.append(run.metrics["accuracy"])
            else:
                n_test = sum(map(sum, run.metrics["confusion"]))
                values.append(median_certified_radius(run.metrics["certified_accuracy"], n_test))
        return values

    return read


DPA2021 = Reproduction(
    name="dpa2021",
    title="Deep Partition Aggregation certificates on MNIST",
    reference=(
        'A. Levine & S. Feizi, "Deep Partition Aggregation: Provable Defenses against '
        'General Poisoning Attacks", ICLR 2021: Table 1 (MNIST, k = 1200 and 3000 '
        "partitions: clean accuracy and median certified radius)."
    ),
    setup=(
        "MNIST training rows 0..59999 hashed into k partitions (the dpa certificate, "
        "partitions by SHA-256 of each row); per partition, a degree-2 polynomial SVC "
        "(coef0 = 1, C = 10) on deskewed HOG features with 7x7-pixel cells (deskew_hog7, 324 "
        "features), fixed maps that learn nothing from the "
        "data; the first 1,000 test images (rows 60000..60999), as in Table 1; k = 1200 and "
        "3000. The median radius counts a wrong prediction as -1, as the paper's code does."
    ),
    spec=f"""# Levine & Feizi (ICLR 2021), Table 1: DPA on MNIST, k = 1200 and 3000.
name = "dpa2021"
seeds = [0]

[dataset]
name = "mnist"
split = {{ train = [0, 60000], test = [60000, 61000] }}

[[certificates]]
name = "dpa"
label = "dpa k=1200"
params = {{ n_partitions = 1200, {_DPA_BASE} }}

[[certificates]]
name = "dpa"
label = "dpa k=3000"
params = {{ n_partitions = 3000, {_DPA_BASE} }}

[[attacks]]
name = "none"
""",
    figures=tuple(
        figure
        for k, accuracy, radius in _DPA_TABLE
        for figure in (
            Figure(
                f"k = {k}: clean accuracy",
                f"{accuracy:.2%}",
                None,
                certified(f"dpa k={k}", "clean_accuracy"),
                source="Table 1",
                not_comparable=_GPU,
            ),
            Figure(
                f"k = {k}: median certified radius",
                str(radius),
                at_least(radius),
                certified(f"dpa k={k}", "median_radius"),
                source="Table 1",
            ),
        )
    ),
    differences=(
        "The certificate is DPA's (the vote gap, ties to the smaller class); the base model "
        "is not: the paper trains a GPU Network-in-Network with augmentation per partition, "
        "here a CPU SVC on fixed features (the best of the candidates measured in "
        "docs/certify.md), so the clean accuracy is not the paper's to match and is shown "
        "only. The median radius is held to the paper's (at least as large): it says for how "
        "many inserted or removed images half of the test set stays certified correct, which "
        "the base model's accuracy on 50 images (k = 1200) or 20 (k = 3000) drives, and that "
        "target is what DPA claims. docs/certify.md's example script (examples/certify_mnist.py) "
        "gets slightly different figures with the same base model: it certifies float32 "
        "features it precomputes, so its partitions hash other bytes than the runner's, which "
        "hashes the dataset's rows and computes the features inside the certificate. The "
        "paper's appendix B (2-means on MNIST 1 vs 7) is the entry dpa2021_2means."
    ),
)

# -- dpa2021_2means ---------------------------------------------------------------------------

_NOT_RETRIEVED = (
    "the paper's own figures for appendix B were not in any material reachable here (its "
    "appendix text is not stored, and the authors' script prints them without recording "
    "them), so poisonlab's are shown, not compared"
)

DPA2021_2MEANS = Reproduction(
    name="dpa2021_2means",
    title="DPA's appendix B: 2-means certified against label flips, MNIST 1 vs 7",
    reference=(
        'A. Levine & S. Feizi, "Deep Partition Aggregation: Provable Defenses against '
        'General Poisoning Attacks", ICLR 2021, appendix B (2-means clustering on MNIST 1 vs '
        "7, certified against label flips; the authors' cluster_binary_mnist.py)."
    ),
    setup=(
        "The 13,007 training 1s and 7s of MNIST, pixels / 255 (mnist:7,1); k-means with two "
        "clusters, random initialisation, 10 restarts, fitted without labels on rows ordered "
        "by their features only; each cluster named by the training labels (two_means); "
        "test: the 2,163 test 1s and 7s. Every prediction holds against the same number of "
        "label flips."
    ),
    spec=f"""# Levine & Feizi (ICLR 2021), appendix B: 2-means on MNIST 1 vs 7 against label flips.
name = "dpa2021_2means"
seeds = [0]

[dataset]
name = "mnist:7,1"
split = {{ train = [0, {_PAIR_TRAIN}], test = [{_PAIR_TRAIN}, {_PAIR_ROWS}] }}

[[certificates]]
name = "two_means"

[[attacks]]
name = "none"
""",
    figures=(
        Figure(
            "clean accuracy",
            "not retrieved",
            None,
            certified("two_means", "clean_accuracy"),
            source="appendix B",
            not_comparable=_NOT_RETRIEVED,
        ),
        Figure(
            "label flips every prediction is certified against",
            "not retrieved",
            None,
            certified("two_means", "median_radius"),
            source="appendix B",
            not_comparable=_NOT_RETRIEVED,
        ),
    ),
    differences=(
        "The method and its counting rule (robust to R - 6,504 flips, R the training labels "
        "the naming agrees with) are the authors' script's; the features are plain pixels, as "
        "there. The radius shown is the median certified radius, a wrong prediction counting "
        "as -1: every correct prediction has the same radius, so it is that radius whenever "
        "more than half of the test set is correct."
    ),
)

# -- steinhardt2017 ---------------------------------------------------------------------------


def measured(key: str) -> Callable[[dict[str, list[float]]], list[float]]:
    """The values ``key`` of an entry computed by its ``measure``."""
    return lambda values: values[key]


#: The fractions of poisoned points of the entry: one on the curve's steep start, two on its
#: plateau (each fraction costs 8,000 passes over the data, minutes; the paper's grid is 0,
#: 0.01, ..., 0.05, 0.1, 0.2, 0.3).
_EPSILONS = (0.01, 0.05, 0.1)

#: The reading error of a value read off a plotted figure (``PAPER_FIGURE_2B``: about 0.0005
#: on the plateau, up to 0.003 on the steep start); one tolerance for every point.
_FIGURE_READING = 0.003


def measure_sphere_slab() -> dict[str, list[float]]:
    """The sphere+slab upper bound (``certify`` ``sphere_slab_bound``, the authors' settings)
    on MNIST's training 1s and 7s, pixels / 255, for each fraction of :data:`_EPSILONS`."""
    from ..certify import CERTIFICATES
    from ..certify._sphere_slab import PAPER_SETTINGS
    from ..datasets import load

    pair = load("mnist:7,1")
    bound = CERTIFICATES.create("sphere_slab_bound", fractions=list(_EPSILONS), **PAPER_SETTINGS)
    result = bound.certify(
        pair.X[:_PAIR_TRAIN], pair.y[:_PAIR_TRAIN], pair.X[_PAIR_TRAIN:], pair.y[_PAIR_TRAIN:]
    )
    bounds = {float(row["epsilon"]): float(row["upper_bound"]) for row in result.info["bounds"]}
    return {f"bound_{eps}": [bounds[eps]] for eps in _EPSILONS}


def _published_bound(epsilon: float) -> float:
    """The paper's upper bound U* at ``epsilon``, read off its Figure 2(b)."""
    from ..certify._sphere_slab import PAPER_FIGURE_2B

    return {eps: bound for eps, bound, _ in PAPER_FIGURE_2B}[epsilon]


STEINHARDT2017 = Reproduction(
    name="steinhardt2017",
    title="The sphere+slab upper bound on MNIST-1-7",
    reference=(
        'J. Steinhardt, P. W. Koh & P. Liang, "Certified Defenses for Data Poisoning '
        'Attacks", NeurIPS 2017: the sphere+slab upper bound on the loss for MNIST-1-7 '
        "(Sec. 4, Fig. 2(b), the upper bound U* against epsilon), which the paper calls "
        "resilient to attack."
    ),
    setup=(
        "The 13,007 training 1s and 7s of MNIST, pixels / 255 (mnist:7,1); the authors' "
        "settings (kohpangwei/data-poisoning-release: datasets.py, generate_bounds.py): "
        "sphere and slab radii at the 70th percentile of the clean class's distances, the "
        "defender's linear SVM with a bias inside the norm bound ||w||^2 + b^2 <= 0.8, dual "
        "averaging with step 0.1 for 8,000 steps; the bound at epsilon = 0.01, 0.05 and 0.1 "
        "(certify sphere_slab_bound, the paper's Algorithm 1, with PAPER_SETTINGS)."
    ),
    measure=measure_sphere_slab,
    figures=tuple(
        Figure(
            f"upper bound U on the average hinge loss, epsilon = {eps}",
            f"{_published_bound(eps):.3f} (read off the figure)",
            between(_published_bound(eps), _published_bound(eps), _FIGURE_READING),
            measured(f"bound_{eps}"),
            source=(
                "Fig. 2(b), as rendered in the authors' make_combined_paper_plots.ipynb; "
                "the tolerance is the reading error of the figure"
            ),
        )
        for eps in _EPSILONS
    ),
    differences=(
        "The published values are read off the plotted figure (one pixel = 0.00027 of loss; "
        "good to about 0.0005 on the plateau, 0.003 on the steep start), so each is held to "
        "+-0.003. The attacker's best point is found in closed form here, by cvxpy on a 3-D "
        "projection in the authors' code; both maximise the same linear loss over the same "
        "sphere and slab. The authors' data file (mnist_17_train_test.npz) is not here: "
        "MNIST's 1s and 7s, pixels / 255, stand for it. Only three of the paper's nine "
        "fractions are run (each takes minutes); examples/certify_sphere_slab_curve.py "
        "--paper runs the others (docs/certify.md). The radii at the 70th percentile filter "
        "30 % of the clean points, whose loss the bound still counts: the paper's second "
        "assumption (clean outliers matter little), not a certificate for a defender that "
        "filters no clean point. Computed with the Python API, outside the study runner: "
        "the bound certifies no prediction, so it cannot be a study's [[certificates]] entry."
    ),
)

# -- koh2022 ----------------------------------------------------------------------------------


def removed(attack: str, defense: str) -> Callable[[list[RunRecord]], list[float]]:
    """How many of ``attack``'s poisoned rows ``defense`` removed, one value per run."""

    def read(runs: list[RunRecord]) -> list[float]:
        return [
            r.metrics["detection"]["recall"] * r.metrics["detection"]["n_poisoned"]
            for r in _select(runs, attack=attack, defense=defense)
        ]

    return read


def error_gain(attack: str, baseline: str, defense: str) -> Callable[[list[RunRecord]], list]:
    """Test error of ``attack`` minus that of ``baseline``, both behind ``defense``."""

    def read(runs: list[RunRecord]) -> list[float]:
        budget = _select(runs, attack=attack)[0].budget
        mine = test_error(budget, defense, attack=attack)(runs)
        theirs = test_error(budget, defense, attack=baseline)(runs)
        return [a - b for a, b in zip(mine, theirs, strict=True)]

    return read


#: The defense-aware attacks of the entry and the sanitizers they are run against.
_AWARE, _SANITIZERS = ("min_max", "kkt"), ("sphere_filter", "slab_filter")

KOH2022 = Reproduction(
    name="koh2022",
    title="Defense-aware attacks against sanitizers on MNIST-1-7",
    reference=(
        'P. W. Koh, J. Steinhardt & P. Liang, "Stronger Data Poisoning Attacks Break Data '
        'Sanitization Defenses", Machine Learning 111 (2022), on MNIST-1-7: attacks that '
        "know the sphere and slab defenses evade them (Sec. 4-5)."
    ),
    setup=(
        "The 1,113 1s and 7s among MNIST training rows 0..4999, pixels / 255; test: the "
        "2,163 test 1s and 7s; SVC(kernel='linear', C=1). 33 poisoned points (3%): "
        "min_max and kkt, each knowing the sphere and slab defenses and the [0, 1] box, "
        "against random_flip (naive); defenses: none, sphere_filter, slab_filter with their "
        "default rule, the flagged rows dropped (examples/defense_aware_table.py's set-up)."
    ),
    spec=f"""# Koh, Steinhardt & Liang (2022): defense-aware attacks vs sanitizers (MNIST 1-7).
name = "koh2022"
seeds = [0]

[dataset]
name = "mnist:7,1"
split = {{ train = [0, 1113], test = [{_PAIR_TRAIN}, {_PAIR_ROWS}] }}

[[models]]
name = "svc"
params = {{ kernel = "linear", C = 1.0 }}

[[attacks]]
name = "random_flip"
budget = [33]

[[attacks]]
name = "min_max"
params = {{ classes = ["7", "1"], defense = ["sphere_filter", "slab_filter"], box = [0.0, 1.0] }}
budget = [33]

[[attacks]]
name = "kkt"
params = {{ classes = ["7", "1"], defense = ["sphere_filter", "slab_filter"], box = [0.0, 1.0] }}
budget = [33]

[[defenses]]
name = "none"

[[defenses]]
name = "sphere_filter"

[[defenses]]
name = "slab_filter"
""",
    figures=(
        *(
            Figure(
                f"{attack}'s points removed by {defense} (of 33)",
                "none: the attack keeps its points inside the defense's feasible set",
                at_most(0),
                removed(attack, defense),
                source="Sec. 4 (the attacks' constraint)",
            )
            for attack in _AWARE
            for defense in _SANITIZERS
        ),
        *(
            Figure(
                f"test error behind {defense}: {attack} minus random flips",
                "the defense-aware attack does more harm than a naive one behind the "
                "sanitizer (poisonlab's reading: a higher test error)",
                at_least(1e-9),
                error_gain(attack, "random_flip", defense),
                source="abstract and Sec. 5 (a claim; the MNIST-1-7 values are plots)",
            )
            for attack in _AWARE
            for defense in _SANITIZERS
        ),
    ),
    differences=(
        "The paper's MNIST-1-7 values are in figures that could not be retrieved here, so "
        "only its claims are checked. Its set-up uses all 13,007 training 1s and 7s and its "
        "own regularization; here 1,113 of them (the runs stay a few minutes), as in "
        "docs/attacks.md's table. The influence attack is left out of the entry: it takes "
        "minutes per run (docs/attacks.md). min_max refits the model where the paper takes "
        "online gradient steps. Where it fails: kkt's points all pass both sanitizers, but "
        "behind the sphere filter they do less harm than random flips (which the sphere "
        "removes only in part, the slab entirely), so the claim holds for kkt only behind the "
        "slab; min_max does more harm than random flips behind both."
    ),
)

ALL = (ML106, BIGGIO2012, PAUDICE2018, DPA2021, DPA2021_2MEANS, STEINHARDT2017, KOH2022)
