"""One reliability row of a 0.6.9+ database as tandemctl sees it: the payload decoded with the
engine's codec and checked against the row's index columns; sealed payloads become read-only
placeholders built from those columns (never invented)."""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from tandemctl.engine import protected_records as pr
from tandemctl.engine.models import COLLECTIONS
from tandemctl.engine.rows import Row
from tandemctl.engine.sealed import placeholder_row, sealed_marker
from tandemctl.engine.validation import validate_rows
from tandemctl.errors import CorruptStateError
from tandemctl.stores.db_schema import ReliabilityTable

DECRYPTED_NOTE = "decrypted with the local memory key; read-only (tandemctl never writes sealed rows)"


def select_columns(table: ReliabilityTable) -> str:
    """The columns every read selects, in `RawRow` order (rowid first: the engine's tie-break)."""
    return (f"rowid, {table.id_column}, run_id, status, {table.payload_column}, updated_at_ms, "
            "org_id, workspace_id, deployment_id")


@dataclass(frozen=True)
class RawRow:
    rowid: int
    key: str
    run_id: str | None
    status: str
    payload: str
    updated_at_ms: int
    org_id: str
    workspace_id: str
    deployment_id: str | None

    @classmethod
    def of(cls, values: Sequence[Any]) -> "RawRow":
        return cls(*values)

    @property
    def columns(self) -> pr.Columns:
        return self.org_id, self.workspace_id, self.deployment_id


@dataclass(frozen=True)
class DecodedRow:
    record: Row  # the record, or a sealed placeholder carrying the marker
    encoding: pr.Encoding | None  # None: sealed and unreadable here


def decode_row(table: ReliabilityTable, raw: RawRow, *, key: bytes | None, location: str) -> DecodedRow:
    """Decode like the engine's reader; a payload the engine would refuse is exit 5 naming
    table, id and field; one this host cannot open is a placeholder."""
    where = f"{location}: table {table.name}, {table.id_column} {raw.key!r}"
    if not isinstance(raw.payload, str):
        raise CorruptStateError(f"{where}: field {table.payload_column!r}: not text")
    try:
        decoded = pr.decode_payload(raw.payload, kind=table.kind, record_id=raw.key, columns=raw.columns, key=key)
    except pr.SealedPayloadError as exc:
        marker = sealed_marker(encoding=_sealed_encoding(raw.payload), readable=False,
                               note=f"{exc.message}; {exc.hint}")
        return DecodedRow(placeholder_row(key_field=table.record_id_field, key=raw.key, run_id=raw.run_id,
                                          status=raw.status, updated_at_ms=raw.updated_at_ms, org_id=raw.org_id,
                                          workspace_id=raw.workspace_id, deployment_id=raw.deployment_id,
                                          marker=marker), None)
    except pr.PayloadDecodeError as exc:
        raise CorruptStateError(f"{where}: field {exc.field!r}: {exc.message}", table=table.name, id=raw.key,
                                field=exc.field) from None
    record = decoded.record
    _check_columns(table, raw, record, where)
    if decoded.encoding == "local_encrypted":
        record = {**record, "tandemctl_sealed": sealed_marker(encoding="local_encrypted", readable=True,
                                                              note=DECRYPTED_NOTE)}
    return DecodedRow(record, decoded.encoding)


def _sealed_encoding(payload: str) -> str:
    """hosted (a KMS-wrapped key rides along, or another seal version) or local_encrypted."""
    try:
        body = orjson.loads(payload[len(pr.SEALED_PREFIX):])
    except orjson.JSONDecodeError:
        return "unknown"
    local = isinstance(body, dict) and "envelope" not in body and body.get("version") == pr.LOCAL_SEAL_VERSION
    return "local_encrypted" if local else "hosted"


def _check_columns(table: ReliabilityTable, raw: RawRow, record: Row, where: str) -> None:
    """The index columns must say what the payload says, or filters on them would lie."""
    expected: dict[str, Any] = {
        table.id_column: record.get(table.record_id_field), "status": record.get("status"),
        "updated_at_ms": record.get("updated_at_ms"), "run_id": record.get("run_id"),
    }
    if isinstance(record.get("scope"), dict):
        expected.update(zip(("org_id", "workspace_id", "deployment_id"), pr.scope_columns(record), strict=True))
    actual = {table.id_column: raw.key, "status": raw.status, "updated_at_ms": raw.updated_at_ms,
              "run_id": raw.run_id, "org_id": raw.org_id, "workspace_id": raw.workspace_id,
              "deployment_id": raw.deployment_id}
    for column, value in expected.items():
        if actual[column] != value:
            raise CorruptStateError(f"{where}: field {column!r}: the column holds {actual[column]!r}, "
                                    f"the payload says {value!r}", id=raw.key, field=column)


def validate_records(table: ReliabilityTable, rows: list[DecodedRow], location: str) -> None:
    """The engine's strict record schema, on the readable rows of one batch."""
    readable = [row.record for row in rows if row.encoding is not None]
    if readable:
        model, key = COLLECTIONS[table.collection]
        validate_rows(readable, model, path=Path(f"{location} table {table.name}"), collection=table.collection,
                      key=key)


def encode_for_write(table: ReliabilityTable, record: Row) -> str:
    """A plaintext binding envelope, what the engine writes for plaintext rows (spec 03 §2.10 step 6);
    a legacy bare row is written the way the engine itself would rewrite it."""
    return pr.encode_plain_envelope(record, kind=table.kind, record_id=record[table.record_id_field])
