"""The `sweep` and `audit verify` use cases: engine guard, one sweep or a loop of them."""

from pathlib import Path

from tandemctl.engine.audit_chain import AuditVerification
from tandemctl.stores.audit_ledger import verify_audit_ledger


def audit_verify(path: Path) -> AuditVerification:
    """Check the protected audit ledger (seq run, record hashes, prev_hash links)."""
    return verify_audit_ledger(path)
