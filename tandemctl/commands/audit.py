"""The `audit verify` use case: check the protected audit ledger's hash chain."""

from dataclasses import dataclass
from pathlib import Path

from tandemctl.commands.invocation import Invocation
from tandemctl.engine.audit_chain import AuditVerification
from tandemctl.errors import ExitCode


@dataclass(frozen=True)
class AuditOutcome:
    verification: AuditVerification
    path: Path
    missing: bool = False  # no ledger at all: not the same as a valid one

    @property
    def exit_code(self) -> int:
        """3 when there is no ledger, 5 when the chain is broken, else 0."""
        if self.missing:
            return int(ExitCode.NOT_FOUND)
        return int(ExitCode.OK if self.verification.valid else ExitCode.CORRUPT)


def audit_verify(inv: Invocation) -> AuditOutcome:
    """Check the protected audit ledger (seq run, record hashes, prev_hash links)."""
    store = inv.store()
    return AuditOutcome(store.verify_audit(), store.audit_file, missing=not store.audit_file.exists())
