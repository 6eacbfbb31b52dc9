"""The payload-column codec of the engine's database stores (binding envelope, legacy bare
records, local AES-256-GCM sealing); pure, no file or database I/O."""

import secrets
import string
from dataclasses import dataclass
from typing import Any, Final, Literal

import orjson

from tandemctl.errors import CorruptStateError, UsageError

Encoding = Literal["plain_envelope", "bare", "local_encrypted"]
# The row's scope columns: (org_id, workspace_id, deployment_id); NULL deployment is None.
Columns = tuple[str, str, str | None]

SEALED_PREFIX: Final = "tgs1:"
CIPHERTEXT_PREFIX: Final = "tce1:"
LOCAL_SEAL_VERSION: Final = 2
DATA_CLASS: Final = "restricted"
SOURCE_BINDING_PREFIX: Final = "tandem-stateful-runtime:"
POLICY_DECISION_ID: Final = "tandem-stateful-runtime-record:v1"
NONCE_BYTES: Final = 12
TAG_BYTES: Final = 16
KEY_BYTES: Final = 32
# serde's default for a missing `scope.tenant_context` (spec 01 §3.2).
LOCAL_IMPLICIT_TENANT: Final = {"org_id": "local", "workspace_id": "local", "source": "local_implicit"}
_ENVELOPE_KEYS: Final = frozenset({"tenant_context", "kind", "id", "payload"})
_HEX: Final = frozenset(string.hexdigits.encode())
_KEY_HINT: Final = ("point TANDEM_MEMORY_LOCAL_KEY_FILE at the engine's local memory key (or set "
                    "TANDEM_MEMORY_DECRYPT_PROVIDER=local-... to use ~/.tandem/memory/local_memory.key)")


class PayloadDecodeError(CorruptStateError):
    """A payload column the engine would refuse to decode; `field` names what failed."""

    code = "payload_undecodable"

    def __init__(self, message: str, *, field: str, **details: object) -> None:
        super().__init__(message, field=field, **details)
        self.field = field


class PayloadMismatchError(PayloadDecodeError):
    """The binding envelope (or sealed context) names another kind, id or tenant than the row."""

    code = "payload_mismatch"


class SealedPayloadError(PayloadDecodeError):
    """A `tgs1:` payload that cannot be opened here: hosted KMS, no key, or the wrong key."""

    code = "payload_sealed"

    def __init__(self, message: str, *, field: str, hint: str) -> None:
        super().__init__(message, field=field, hint=hint)
        self.hint = hint


class LocalKeyError(UsageError):
    """A local memory key file in none of the engine's accepted formats."""

    code = "bad_local_key"


@dataclass(frozen=True)
class DecodedPayload:
    record: dict[str, Any]
    encoding: Encoding


def tenant_context_of(record: dict[str, Any]) -> dict[str, Any]:
    """The record's `scope.tenant_context` as stored, or serde's default when absent."""
    scope = record.get("scope")
    context = scope.get("tenant_context") if isinstance(scope, dict) else None
    return context if isinstance(context, dict) else dict(LOCAL_IMPLICIT_TENANT)


def scope_columns(record: dict[str, Any]) -> Columns:
    """The (org_id, workspace_id, deployment_id) columns the engine writes for a record."""
    context = tenant_context_of(record)
    return context["org_id"], context["workspace_id"], context.get("deployment_id")


def encode_plain_envelope(record: dict[str, Any], *, kind: str, record_id: str) -> str:
    """serde_json::to_string of the binding envelope (protected_records.rs)."""
    envelope = {"tenant_context": tenant_context_of(record), "kind": kind, "id": record_id, "payload": record}
    return orjson.dumps(envelope).decode()


def decode_payload(text: str, *, kind: str, record_id: str, columns: Columns,
                   key: bytes | None) -> DecodedPayload:
    """Decode one payload column the way the engine's reader does (protected_records.rs)."""
    if text.startswith(SEALED_PREFIX):
        envelope_text = _open_sealed(text, kind=kind, record_id=record_id, columns=columns, key=key)
        value = _parse_json(envelope_text, field="payload")
        if not is_envelope(value):
            raise PayloadDecodeError(f"{kind} {record_id}: sealed payload holds no binding envelope", field="payload")
        return DecodedPayload(_check_envelope(value, kind=kind, record_id=record_id, columns=columns),
                              "local_encrypted")
    value = _parse_json(text, field="payload")
    if is_envelope(value):
        return DecodedPayload(_check_envelope(value, kind=kind, record_id=record_id, columns=columns),
                              "plain_envelope")
    if not isinstance(value, dict):
        raise PayloadDecodeError(f"{kind} {record_id}: payload is not a JSON object", field="payload")
    return DecodedPayload(value, "bare")


def expected_seal_context(*, kind: str, record_id: str, columns: Columns) -> dict[str, Any]:
    """The exact crypto context the engine seals a record under (protected_records.rs)."""
    org_id, workspace_id, deployment_id = columns
    key_scope: dict[str, Any] = {"org_id": org_id, "workspace_id": workspace_id}
    if deployment_id is not None:
        key_scope["deployment_id"] = deployment_id
    key_scope["data_class"] = DATA_CLASS
    key_scope["source_binding_id"] = SOURCE_BINDING_PREFIX + kind
    return {"key_scope": key_scope, "policy_decision_id": POLICY_DECISION_ID, "audit_id": f"{kind}:{record_id}"}


def encrypt_local(envelope_text: str, *, kind: str, record_id: str, columns: Columns, key: bytes) -> str:
    """Seal a plaintext envelope in the local-encrypted format (encrypted_file_store.rs)."""
    plaintext = orjson.dumps({"context": expected_seal_context(kind=kind, record_id=record_id, columns=columns),
                              "payload": envelope_text})
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # only for sealed rows: most stores have none

    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = nonce + AESGCM(_checked_key(key)).encrypt(nonce, plaintext, None)
    body = {"version": LOCAL_SEAL_VERSION, "ciphertext": CIPHERTEXT_PREFIX + sealed.hex()}
    return SEALED_PREFIX + orjson.dumps(body).decode()


def parse_local_key(data: bytes) -> bytes:
    """The 32-byte key from a local memory key file: 64 hex characters, or legacy 32 raw bytes.

    Mirrors the engine's key-file reader as of v0.7.2 (TAN-817); file ownership and mode checks
    belong to whoever opens the file."""
    trimmed = data.strip()
    if len(trimmed) == 2 * KEY_BYTES and all(byte in _HEX for byte in trimmed):
        return bytes.fromhex(trimmed.decode("ascii"))
    if len(data) == KEY_BYTES:
        if all(byte in _HEX for byte in data):
            # The engine refuses this too: 32 hex characters could be a short hex key or raw bytes.
            raise LocalKeyError("local key file holds 32 hex characters: ambiguous (expected 64 hex characters)")
        return data
    raise LocalKeyError(f"local key file holds {len(data)} bytes; expected 64 hex characters "
                        "(or a legacy file of exactly 32 raw bytes)")


def _checked_key(key: bytes) -> bytes:
    if len(key) != KEY_BYTES:
        raise LocalKeyError(f"local key must be {KEY_BYTES} bytes, got {len(key)}")
    return key


def _parse_json(text: str | bytes, *, field: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise PayloadDecodeError(f"invalid JSON in {field}: {exc.msg}", field=field) from None


def is_envelope(value: Any) -> bool:
    # The engine tries the envelope shape first and falls back to a bare record.
    return isinstance(value, dict) and value.keys() >= _ENVELOPE_KEYS


def _check_envelope(envelope: dict[str, Any], *, kind: str, record_id: str, columns: Columns) -> dict[str, Any]:
    context = envelope["tenant_context"]
    if not isinstance(context, dict) or not isinstance(context.get("org_id"), str) \
            or not isinstance(context.get("workspace_id"), str):
        raise PayloadDecodeError(f"{kind} {record_id}: envelope tenant_context is malformed", field="tenant_context")
    found = {"kind": envelope["kind"], "id": envelope["id"], "org_id": context["org_id"],
             "workspace_id": context["workspace_id"], "deployment_id": context.get("deployment_id")}
    wanted = {"kind": kind, "id": record_id, "org_id": columns[0], "workspace_id": columns[1],
              "deployment_id": columns[2]}
    for field, expected in wanted.items():
        if found[field] != expected:
            raise PayloadMismatchError(
                f"{kind} {record_id}: envelope {field} is {found[field]!r}, the row says {expected!r}",
                field=field, expected=expected, actual=found[field])
    if not isinstance(envelope["payload"], dict):
        raise PayloadDecodeError(f"{kind} {record_id}: envelope payload is not a JSON object", field="payload")
    record: dict[str, Any] = envelope["payload"]
    return record


def _open_sealed(text: str, *, kind: str, record_id: str, columns: Columns, key: bytes | None) -> str:
    body = _parse_json(text[len(SEALED_PREFIX):], field="sealed")
    where = f"{kind} {record_id}"
    if not isinstance(body, dict):
        raise PayloadDecodeError(f"{where}: sealed payload is not a JSON object", field="sealed")
    if "envelope" in body or body.get("version") != LOCAL_SEAL_VERSION:
        raise SealedPayloadError(f"{where}: sealed with hosted KMS envelope encryption", field="sealed",
                                 hint="only the engine with KMS access can read hosted rows; use the HTTP API")
    if key is None:
        raise SealedPayloadError(f"{where}: encrypted with the local memory key", field="sealed", hint=_KEY_HINT)
    sealed = _ciphertext_bytes(body.get("ciphertext"), where)
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        plaintext = AESGCM(_checked_key(key)).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], None)
    except InvalidTag:
        raise SealedPayloadError(f"{where}: the local key does not open this payload", field="sealed",
                                 hint="wrong key file? " + _KEY_HINT) from None
    return _checked_plaintext(plaintext, kind=kind, record_id=record_id, columns=columns)


def _ciphertext_bytes(ciphertext: Any, where: str) -> bytes:
    if not isinstance(ciphertext, str) or not ciphertext.startswith(CIPHERTEXT_PREFIX):
        raise PayloadDecodeError(f"{where}: sealed ciphertext lacks the {CIPHERTEXT_PREFIX} prefix",
                                 field="ciphertext")
    hex_text = ciphertext[len(CIPHERTEXT_PREFIX):]
    try:
        sealed = bytes.fromhex(hex_text)
    except ValueError:
        sealed = b""
    if len(sealed) < NONCE_BYTES + TAG_BYTES or hex_text != hex_text.lower() or len(hex_text) != 2 * len(sealed):
        raise PayloadDecodeError(f"{where}: sealed ciphertext is not lowercase hex of nonce+ciphertext+tag",
                                 field="ciphertext")
    return sealed


def _checked_plaintext(plaintext: bytes, *, kind: str, record_id: str, columns: Columns) -> str:
    where = f"{kind} {record_id}"
    value = _parse_json(plaintext, field="sealed")
    if not isinstance(value, dict) or not isinstance(value.get("payload"), str):
        raise PayloadDecodeError(f"{where}: decrypted payload has no string `payload`", field="payload")
    if _normalised_context(value.get("context")) != expected_seal_context(kind=kind, record_id=record_id,
                                                                          columns=columns):
        raise PayloadMismatchError(f"{where}: sealed context does not match the row", field="context",
                                   actual=value.get("context"))
    payload: str = value["payload"]
    return payload


def _normalised_context(context: Any) -> Any:
    # An absent deployment serialises as a missing key; a null one means the same to serde.
    if isinstance(context, dict) and isinstance(context.get("key_scope"), dict) \
            and context["key_scope"].get("deployment_id", "") is None:
        key_scope = {k: v for k, v in context["key_scope"].items() if k != "deployment_id"}
        return {**context, "key_scope": key_scope}
    return context
