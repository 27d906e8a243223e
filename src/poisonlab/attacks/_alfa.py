"""ALFA: the Adversarial Label Flip Attack on binary SVMs (Xiao, Xiao & Eckert, ECAI 2012).

The attacker flips at most ``budget`` labels so that the SVM trained on the flipped labels errs
as much as possible on the clean ones. ALFA relaxes that bilevel problem: every training point
appears twice, once with its label (index i) and once flipped (index i + n), and weights
``q`` in [0, 1] with ``q_i + q_{i+n} = 1`` say which copy the tainted SVM trains on. It then
alternates two convex steps until ``q`` stops changing:

1. the flip step, a linear program: minimize ``sum_j q_j (xi_j - psi_j)`` subject to the
   budget ``sum_i q_{i+n} <= budget``, where ``psi_j`` is the hinge loss of the clean SVM and
   ``xi_j`` that of the current tainted SVM on copy j (pick copies the clean model finds
   surprising but the tainted model fits);
2. the model step, a weighted SVM trained on all 2n copies with sample weights ``q``.

The labels flipped are the ``budget`` flipped copies with the largest final ``q``.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from .._validation import BUDGET, RANDOM_STATE, Interval, Options, resolve_budget
from ._binary_svm import CLASS_PAIR, GAMMA, Kernel, binary_view, hinge_losses, resolve_gamma
from .base import ATTACKS, BaseAttack, PoisonResult


def solve_flip_lp(cost: np.ndarray, budget: int) -> tuple[np.ndarray, float]:
    """The relaxed flip problem of ALFA, solved by scipy's HiGHS LP solver.

    Parameters
    ----------
    cost : ndarray of shape (2 * n,)
        ``xi_j - psi_j`` for the n original copies followed by the n flipped copies.
    budget : int
        Largest total weight on the flipped copies (the number of flips).

    Returns
    -------
    q : ndarray of shape (2 * n,)
        Weights in [0, 1]; ``q[i] + q[i + n] == 1``.
    objective : float
        ``cost @ q`` at the optimum.
    """
    from scipy.optimize import linprog
    from scipy.sparse import csr_array, eye_array, hstack

    n = len(cost) // 2
    # Costs of 1 per flip: the budget row counts flipped copies.
    budget_row = csr_array(np.concatenate([np.zeros(n), np.ones(n)])[None, :])
    pairs = hstack([eye_array(n), eye_array(n)], format="csr")
    solved = linprog(
        cost,
        A_ub=budget_row,
        b_ub=[budget],
        A_eq=pairs,
        b_eq=np.ones(n),
        bounds=(0.0, 1.0),
        method="highs",
    )
    if solved.status != 0:  # pragma: no cover - the LP is always feasible (q = originals)
        raise RuntimeError(f"ALFA's flip LP failed: {solved.message}")
    return np.clip(solved.x, 0.0, 1.0), float(solved.fun)


@ATTACKS.register("alfa")
class ALFA(BaseAttack):
    """Adversarial Label Flip Attack: flip the labels that most hurt a binary SVM.

    Alternates a linear program that chooses which labels to flip (scipy's HiGHS solver) with a
    weighted SVM fit on the relaxed flips, as in Xiao, Xiao & Eckert (2012). On multi-class data
    it attacks the binary SVM of one class pair (``classes``); rows of other classes are never
    changed. The attack is deterministic.

    Parameters
    ----------
    classes : None or pair of class labels, default=None
        ``(negative, positive)``: the two classes attacked. None requires binary ``y``.
    budget : int or float, default=0.05
        Number of labels flipped, or a fraction of the whole training set; at most the number
        of samples of the two classes.
    kernel : {"linear", "rbf"}, default="linear"
        Kernel of the attacked SVM.
    C : float, default=1.0
        Regularization parameter of the attacked SVM.
    gamma : {"scale", "auto"} or float, default="scale"
        RBF kernel width, fixed on the clean samples of the pair as SVC computes it.
    max_iter : int, default=30
        Largest number of LP / SVM alternations.
    random_state : None, int or numpy.random.Generator, default=None
        Unused (ALFA is deterministic); kept for the common attack protocol.
    """

    kind = "label"
    reference = (
        "H. Xiao, H. Xiao & C. Eckert, 'Adversarial Label Flips Attack on Support Vector "
        "Machines', ECAI 2012 (Algorithm ALFA); see also Xiao et al., 'Support vector "
        "machines under adversarial label contamination', Neurocomputing 160 (2015)."
    )
    _parameter_constraints = {
        "classes": CLASS_PAIR,
        "budget": BUDGET,
        "kernel": [Options("linear", "rbf")],
        "C": [Interval(Real, 0.0, None, closed="neither")],
        "gamma": GAMMA,
        "max_iter": [Interval(Integral, 1, None)],
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        *,
        classes: tuple | None = None,
        budget: int | float = 0.05,
        kernel: str = "linear",
        C: float = 1.0,
        gamma: str | float = "scale",
        max_iter: int = 30,
        random_state=None,
    ) -> None:
        self.classes = classes
        self.budget = budget
        self.kernel = kernel
        self.C = C
        self.gamma = gamma
        self.max_iter = max_iter
        self.random_state = random_state

    def _poison(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> PoisonResult:
        view = binary_view(y, self.classes, owner="ALFA")
        count = resolve_budget(
            self.budget,
            len(y),
            owner="ALFA",
            available=len(view.rows),
            what=f"training samples of classes {view.negative!r} and {view.positive!r}",
        )
        X_pair = np.asarray(X[view.rows], dtype=float)
        kernel = Kernel(self.kernel, resolve_gamma(self.gamma, X_pair))
        q, details = self._alternate(kernel(X_pair, X_pair), view.signs, count)
        n = len(view.rows)
        # Ties in q (e.g. all zero when nothing is worth flipping) go to the earlier row.
        flipped = np.sort(np.argsort(-q[n:], kind="stable")[:count])
        chosen = view.rows[flipped].astype(np.int64)
        y_out = y.copy()
        y_out[chosen] = np.where(view.signs[flipped] > 0, view.negative, view.positive)
        info = {
            "budget": count,
            "classes": (str(view.negative), str(view.positive)),
            "kernel": self.kernel,
            **details,
        }
        return PoisonResult(X, y_out, chosen, info)

    def _alternate(self, K: np.ndarray, signs: np.ndarray, count: int) -> tuple[np.ndarray, dict]:
        """ALFA's alternation on the pair's Gram matrix ``K`` (n, n) and labels ``signs`` (n,).

        Returns the final weights ``q`` of shape (2 n,) and details for ``info``.
        """
        n = len(signs)
        both = np.concatenate([signs, -signs])  # labels of the original and flipped copies
        psi = hinge_losses(both, np.tile(self._fit_decision(K, signs, None), 2))
        xi = np.zeros(2 * n)
        q = np.concatenate([np.ones(n), np.zeros(n)])
        iterations, converged, objective = 0, False, 0.0
        if count == 0:
            return q, {"iterations": 0, "converged": True, "lp_objective": 0.0, "lp_flips": 0.0}
        K2 = np.tile(K, (2, 2))
        for iterations in range(1, self.max_iter + 1):
            q_new, objective = solve_flip_lp(xi - psi, count)
            if iterations > 1 and np.allclose(q_new, q, atol=1e-9):
                converged = True
                break
            q = q_new
            xi = hinge_losses(both, np.tile(self._fit_decision(K2, both, q)[:n], 2))
        return q, {
            "iterations": iterations,
            "converged": converged,
            "lp_objective": objective,
            "lp_flips": float(q[n:].sum()),
        }

    def _fit_decision(
        self, K: np.ndarray, signs: np.ndarray, weights: np.ndarray | None
    ) -> np.ndarray:
        """Fit a (weighted) SVC on the precomputed Gram ``K``; its decision values on K's rows."""
        from sklearn.svm import SVC

        keep = np.ones(len(signs), bool) if weights is None else weights > 0
        # Zero-weight rows are dropped here, not by libsvm: when libsvm drops them, SVC's
        # support_ indexes the reduced set, so decisions on a precomputed kernel are wrong
        # (scikit-learn 1.9; issues #5150, #25380). A zero weight means C_i = 0: same problem.
        model = SVC(kernel="precomputed", C=self.C)
        model.fit(
            K[np.ix_(keep, keep)],
            signs[keep],
            sample_weight=None if weights is None else weights[keep],
        )
        return model.decision_function(K[:, keep])
