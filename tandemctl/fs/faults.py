"""Fault injection for crash tests: `TANDEMCTL_FAULT_AFTER=k` kills the process at step k.

Every durable step (temp write, fsync, rename, append) calls `checkpoint`. Tests count the
steps of a clean run, then re-run the command once per k and check the state converges.
"""

import os
import signal
import sys

_ENV = "TANDEMCTL_FAULT_AFTER"
_LOG_ENV = "TANDEMCTL_FAULT_LOG"
_steps = 0


def checkpoint(label: str) -> None:
    """Count one durable step; die with SIGKILL when the configured step is reached."""
    global _steps
    _steps += 1
    log = os.environ.get(_LOG_ENV)
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"{_steps} {label}\n")
    target = os.environ.get(_ENV)
    if target and target.isdigit() and int(target) == _steps:
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
