"""Steinhardt, Koh & Liang (2017) on MNIST 1 vs 7: the sphere+slab upper bound against epsilon.

For each poison fraction ``epsilon``, ``sphere_slab_bound``'s Algorithm 1 gives the upper bound
``U`` on the loss any ``epsilon * n`` poisoned points passing the sphere and slab filters can
force on the defender's norm-bounded linear SVM, and its candidate attack. The candidate attack
is then added to the training set and the defender retrained (500 steps of the same dual
averaging, so an approximate minimiser), and its test loss and error measured: what the attack
found, beside what the certificate allows. Figure 2 of the paper draws such curves against
epsilon. Training: the 13,007
'1's and '7's of MNIST's training rows, pixels / 255 (``mnist:1,7``); test: its 2,163.

    .venv/bin/python examples/certify_sphere_slab_curve.py --fractions 0.01,0.02,0.05,0.1 \
        --plot docs/figures/certify/sphere_slab_mnist17.png

It prints the Markdown table of docs/certify.md (with ``--paper``, the paper's values beside
ours) and, with ``--plot``, draws the curves. One BLAS thread, so the sums, and the table, are
the same in every run.

The authors' set-up (their code, kohpangwei/data-poisoning-release: ``datasets.py`` and
``generate_bounds.py``) is ``--paper``: radii at the 70th percentile, a bias inside the norm
bound ``||theta||^2 + b^2 <= 0.8``, step size 0.1 and 8,000 steps.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from poisonlab._threadpools import thread_limits
from poisonlab.certify._sphere_slab import (
    PAPER_FIGURE_2B,
    PAPER_SETTINGS,
    SphereSlab,
    _clean_theta,
    hinge,
    sphere_slab_upper_bound,
    with_ones,
)
from poisonlab.datasets import load


def curve(
    fractions: list[float],
    rho: float,
    quantile: float,
    bias: bool = False,
    eta: float = 1.0,
    min_steps: int = 500,
) -> list[dict[str, float]]:
    """Upper bound and the candidate attack's losses for each fraction."""
    ds = load("mnist:1,7")
    X, y = ds.X[:13007], ds.y[:13007]
    X_test, y_test = ds.X[13007:], ds.y[13007:]
    signs, signs_test = np.where(y == "7", 1, -1), np.where(y_test == "7", 1, -1)
    defence = SphereSlab.fit(X, signs, quantile)
    rows = []
    for epsilon in fractions:
        bound, X_p, y_p = sphere_slab_upper_bound(
            X, signs, defence, epsilon, rho, eta=eta, min_steps=min_steps, bias=bias
        )
        fit, X_p, test = (
            (with_ones(X), with_ones(X_p), with_ones(X_test)) if bias else (X, X_p, X_test)
        )
        theta = _clean_theta(np.vstack([fit, X_p]), np.concatenate([signs, y_p]), rho)
        attack_train = (hinge(theta, fit, signs).sum() + hinge(theta, X_p, y_p).sum()) / len(X)
        rows.append(
            {
                "epsilon": epsilon,
                "upper_bound": bound,
                "attack_train_loss": float(attack_train),
                "attack_test_loss": float(hinge(theta, test, signs_test).mean()),
                "attack_test_error": float(np.mean(np.sign(test @ theta) != signs_test)),
            }
        )
    return rows


def plot(rows: list[dict[str, float]], path: Path, quantile: float, paper: bool = False) -> None:
    """Bound and attack against epsilon, as the paper's Figure 2 draws them (``paper``: with
    the paper's own curves beside ours)."""
    from matplotlib.figure import Figure

    eps = [r["epsilon"] for r in rows]
    fig = Figure(figsize=(5.2, 3.4), layout="constrained")
    ax = fig.subplots()
    ax.plot(eps, [r["upper_bound"] for r in rows], "o-", label="upper bound U (train loss)")
    ax.plot(eps, [r["attack_test_loss"] for r in rows], "^:", label="candidate attack: test loss")
    ax.plot(
        eps, [r["attack_test_error"] for r in rows], "s--", label="candidate attack: test error"
    )
    if paper:
        eps_p, bound_p, test_p = zip(*PAPER_FIGURE_2B, strict=True)
        ax.plot(eps_p, bound_p, "k--", label="paper: upper bound U*")
        ax.plot(eps_p, test_p, "k:", label="paper: attack's test loss")
    ax.set(xlabel="epsilon (poisoned points per clean point)", ylabel="hinge loss / error")
    title = f"MNIST 1 vs 7, sphere + slab radii at quantile {quantile} (poisonlab)"
    ax.set_title(title, fontsize="medium")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def print_table(rows: list[dict[str, float]], paper: bool) -> None:
    """The rows as docs/certify.md's Markdown table; ``paper``: Figure 2(b)'s values beside."""
    if paper:
        published = {eps: (bound, test) for eps, bound, test in PAPER_FIGURE_2B}
        print(
            "| epsilon | paper: upper bound U* | ours: upper bound U | paper: attack's test "
            "hinge loss | ours: attack's test hinge loss | ours: attack's train loss | ours: "
            "attack's test error |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- |")
    else:
        print(
            "| epsilon | upper bound U | candidate attack: defender's train loss | its test "
            "hinge loss | its test error |"
        )
        print("| --- | --- | --- | --- | --- |")
    for r in rows:
        ours = f"{r['upper_bound']:.3f}", f"{r['attack_test_loss']:.3f}"
        cells = [f"{r['epsilon']}", ours[0], f"{r['attack_train_loss']:.3f}", ours[1]]
        if paper:
            bound, test = (f"{v:.3f}" for v in published.get(r["epsilon"], ("", "")))
            cells = [cells[0], bound, ours[0], test, ours[1], cells[2]]
        print(f"| {' | '.join(cells)} | {r['attack_test_error']:.1%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fractions", default="0.01,0.02,0.05,0.1,0.15,0.2,0.3")
    parser.add_argument("--rho", type=float, default=2.0)
    parser.add_argument("--quantile", type=float, default=1.0, help="sphere and slab radii")
    parser.add_argument(
        "--paper", action="store_true", help="the authors' settings: " + repr(PAPER_SETTINGS)
    )
    parser.add_argument("--plot", type=Path, default=None)
    args = parser.parse_args()
    fractions = [float(v) for v in args.fractions.split(",")]
    with thread_limits(1):
        if args.paper:
            rows = curve(fractions, **PAPER_SETTINGS)
        else:
            rows = curve(fractions, args.rho, args.quantile)
    print_table(rows, args.paper)
    if args.plot is not None:
        quantile = PAPER_SETTINGS["quantile"] if args.paper else args.quantile
        plot(rows, args.plot, quantile, args.paper)


if __name__ == "__main__":
    main()
