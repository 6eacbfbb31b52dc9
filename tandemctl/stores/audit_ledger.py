"""Reading the protected audit ledger file: its tail (what the next append links to) and verifying
its hash chain; the chain rules themselves are `engine/audit_chain.py`."""

from pathlib import Path

from tandemctl.engine.audit_chain import AuditTail, AuditVerification, audit_tail_from, verify_audit_lines
from tandemctl.fs import reads


def read_audit_tail(path: Path) -> AuditTail:
    data, _ = reads.read_bytes(path)
    return audit_tail_from(data, path)


def verify_audit_ledger(path: Path) -> AuditVerification:
    data, _ = reads.read_bytes(path)
    return verify_audit_lines(data or b"")
