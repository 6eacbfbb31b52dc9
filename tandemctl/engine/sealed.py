"""Rows whose payload tandemctl cannot (or may not) open: a listing row built from the plaintext
index columns, carrying the `tandemctl_sealed` marker; never written back."""

from typing import Any, Final

from tandemctl.engine.rows import Row

SEALED_KEY: Final = "tandemctl_sealed"
# Filters that need the payload cannot tell whether a sealed row matches: it is left out of them.
READ_ONLY_REASON: Final = "sealed (encrypted) payload: tandemctl never writes sealed rows; use the engine's HTTP API"


def is_sealed(row: Row) -> bool:
    """True for an unreadable placeholder and for a row decrypted with the local key (read-only)."""
    return SEALED_KEY in row


def is_readable(row: Row) -> bool:
    marker = row.get(SEALED_KEY)
    return marker is None or bool(marker.get("readable"))


def sealed_marker(*, encoding: str, readable: bool, note: str) -> dict[str, Any]:
    """`encoding`: local_encrypted or hosted; `note` says why it is sealed and how to read it."""
    return {"encoding": encoding, "readable": readable, "note": note}


def placeholder_row(*, key_field: str, key: str, run_id: str | None, status: str, updated_at_ms: int,
                    org_id: str, workspace_id: str, deployment_id: str | None,
                    marker: dict[str, Any]) -> Row:
    """What the index columns show of an unreadable row: nothing is invented beyond them."""
    tenant: dict[str, Any] = {"org_id": org_id, "workspace_id": workspace_id}
    if deployment_id is not None:
        tenant["deployment_id"] = deployment_id
    return {key_field: key, "run_id": run_id, "status": status, "scope": {"tenant_context": tenant},
            "updated_at_ms": updated_at_ms, SEALED_KEY: marker}


def without_marker(row: Row) -> Row:
    return {key: value for key, value in row.items() if key != SEALED_KEY}
