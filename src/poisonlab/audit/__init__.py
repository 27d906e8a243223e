"""``poisonlab audit``: scan a training set for signs of poisoning, row by row and as a whole.

>>> from poisonlab.audit import run_audit
>>> result = run_audit(X, y)  # doctest: +SKIP
>>> result.failed, result.ranking[:10]  # doctest: +SKIP
"""

from .checks import CHECKS, Z_FIRE, CheckResult
from .core import ROW_CHECKS, AuditResult, run_audit
from .gate import ALPHA, TestResult

__all__ = [
    "ALPHA",
    "CHECKS",
    "ROW_CHECKS",
    "Z_FIRE",
    "AuditResult",
    "CheckResult",
    "TestResult",
    "run_audit",
]
