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

    @property
    def exit_code(self) -> int:
        """5 when the chain is broken, else 0."""
        return int(ExitCode.OK if self.verification.valid else ExitCode.CORRUPT)


def audit_verify(inv: Invocation) -> AuditOutcome:
    """Check the protected audit ledger (seq run, record hashes, prev_hash links)."""
    store = inv.store()
    return AuditOutcome(store.verify_audit(), store.audit_file)
