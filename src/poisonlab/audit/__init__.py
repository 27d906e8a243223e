"""``poisonlab audit``: scan a training set for signs of poisoning, row by row.

>>> from poisonlab.audit import run_audit
>>> result = run_audit(X, y)  # doctest: +SKIP
>>> result.ranking[:10]       # doctest: +SKIP
"""

from .checks import Z_FIRE, CheckResult
from .core import FAIL_ON, ROW_CHECKS, AuditResult, run_audit

__all__ = ["FAIL_ON", "ROW_CHECKS", "Z_FIRE", "AuditResult", "CheckResult", "run_audit"]
