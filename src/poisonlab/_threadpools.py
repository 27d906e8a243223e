"""Thread limits of the BLAS and OpenMP libraries through one kept ``threadpoolctl`` controller.

``threadpoolctl.threadpool_limits`` scans every loaded shared library each time it is called:
3 to 7 ms in a process that has imported scikit-learn, and the study runner sets limits twice
per run (0.3 to 0.6 s of the ML 106 lab's 45-run sweep, issue 18). A controller made once does
the same for 0.1 ms. It knows the libraries loaded when it was made, so it is made again
whenever modules have been imported since (an import is what loads a new BLAS or OpenMP).
"""

from __future__ import annotations

import sys
import threading
from typing import Any

_LOCK = threading.Lock()
_kept: tuple[int, Any] | None = None  # (len(sys.modules) when made, the controller)


def controller() -> Any:
    """The ``threadpoolctl.ThreadpoolController`` of the libraries loaded now."""
    global _kept
    with _LOCK:
        if _kept is None or _kept[0] != len(sys.modules):
            from threadpoolctl import ThreadpoolController

            made = ThreadpoolController()  # imports nothing new after the line above
            _kept = (len(sys.modules), made)
        return _kept[1]


def thread_limits(limits: int, user_api: str | None = None) -> Any:
    """``threadpoolctl.threadpool_limits(limits, user_api)``, without the library scan.

    Returns the limiter: a context manager, or call its ``restore_original_limits()``.
    """
    return controller().limit(limits=limits, user_api=user_api)
