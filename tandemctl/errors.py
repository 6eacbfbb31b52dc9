"""The one error hierarchy and its exit codes; imports nothing from tandemctl."""

from enum import IntEnum
from typing import ClassVar


class ExitCode(IntEnum):
    """Documented process exit codes; scripts and cron depend on them."""

    OK = 0
    ERROR = 1
    USAGE = 2
    NOT_FOUND = 3
    BUSY = 4
    CORRUPT = 5
    PARTIAL = 6
    AUTH = 7
    INTERRUPTED = 130


EXIT_CODE_HELP = (
    "Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 busy (lock timeout or engine live), "
    "5 corrupt or unsupported state, 6 partial (some items refused, failed or of unknown outcome), "
    "7 auth (live mode: the engine rejected the API token, or none was found), 130 interrupted."
)


class TandemctlError(Exception):
    """Base of every expected failure; `code` names it in JSON output."""

    exit_code: ClassVar[ExitCode] = ExitCode.ERROR
    code: ClassVar[str] = "error"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class UsageError(TandemctlError):
    exit_code = ExitCode.USAGE
    code = "usage"


class NotFoundError(TandemctlError):
    exit_code = ExitCode.NOT_FOUND
    code = "not_found"


class StateNotFoundError(NotFoundError):
    """The data dir does not exist: a typo or the wrong environment, never an empty store."""

    code = "state_not_found"


class BusyError(TandemctlError):
    exit_code = ExitCode.BUSY
    code = "busy"


class EngineLiveError(BusyError):
    code = "engine_live"


class CorruptStateError(TandemctlError):
    """A state file that cannot be read or fails the engine's strict parse."""

    exit_code = ExitCode.CORRUPT
    code = "corrupt_state"


class UnsupportedStateError(CorruptStateError):
    code = "unsupported_state"


class ConflictError(BusyError):
    """Another writer kept changing the file between our read and our rename."""

    code = "conflict"


class AuthError(TandemctlError):
    """Live mode: the engine answered 401 (token rejected, or none was found to send)."""

    exit_code = ExitCode.AUTH
    code = "auth"


class EngineError(TandemctlError):
    """Live mode: the engine cannot be reached, is not Tandem, or failed a request."""

    code = "engine_error"


class EngineStartingError(BusyError):
    """Live mode: the engine is still starting (503 ENGINE_STARTING) after bounded retries."""

    code = "engine_starting"


class WriteError(TandemctlError):
    code = "write_failed"


class DatabaseUnavailableError(TandemctlError):
    """The 0.6.9+ database could not be reached or logged into (exit 1): server down, wrong URL or
    password, unreadable file. Nothing was read or written."""

    code = "database_unavailable"


class SweepDelegatedError(BusyError):
    """`sweep` (not --dry-run) on a 0.6.9+ database store (exit 4, like an engine that is live):
    requeueing runs means editing the runs table and the protected audit log, which spec 03 §2.10
    reserves to the engine; its own dispatcher handles requested retries at start-up and every
    second. Nothing was written."""

    code = "sweep_delegated_to_engine"
