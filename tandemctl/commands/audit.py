"""The `audit verify` use case: check the protected audit ledger's hash chain."""

from dataclasses import dataclass
from pathlib import Path

from tandemctl.commands.invocation import Invocation
from tandemctl.engine.audit_chain import AuditVerification


@dataclass(frozen=True)
class AuditOutcome:
    verification: AuditVerification
    path: Path
    missing: bool = False  # no ledger at all: not the same as a valid one


def audit_verify(inv: Invocation) -> AuditOutcome:
    """Check the protected audit ledger (seq run, record hashes, prev_hash links)."""
    store = inv.store()
    return AuditOutcome(store.verify_audit(), store.audit_file, missing=not store.audit_file.exists())
