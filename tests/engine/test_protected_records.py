import orjson
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st

from tandemctl.engine import protected_records as pr
from tests.factories import dead_letter, tenant

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
TENANT = tenant("org-a", "ws-a", deployment="dep-a")
COLUMNS = ("org-a", "ws-a", "dep-a")


def _record() -> dict:
    return dead_letter("dead-letter-effect-1", tenant_context=TENANT)


def _decode(text: str, *, kind: str = "dead_letter", record_id: str = "dead-letter-effect-1",
            columns: pr.Columns = COLUMNS, key: bytes | None = KEY) -> pr.DecodedPayload:
    return pr.decode_payload(text, kind=kind, record_id=record_id, columns=columns, key=key)


def _sealed(record: dict, *, columns: pr.Columns = COLUMNS, envelope: dict | None = None,
            context: dict | None = None) -> str:
    """A local-encrypted column built by hand, so tests can bend the envelope or the context."""
    inner = envelope or orjson.loads(pr.encode_plain_envelope(record, kind="dead_letter",
                                                              record_id="dead-letter-effect-1"))
    context = context or pr.expected_seal_context(kind="dead_letter", record_id="dead-letter-effect-1",
                                                  columns=columns)
    plaintext = orjson.dumps({"context": context, "payload": orjson.dumps(inner).decode()})
    nonce = bytes(12)
    sealed = nonce + AESGCM(KEY).encrypt(nonce, plaintext, None)
    return "tgs1:" + orjson.dumps({"version": 2, "ciphertext": "tce1:" + sealed.hex()}).decode()


def test_plain_envelope_is_serde_compact_with_the_stored_tenant_context() -> None:
    record = {"schema_version": 1, "dead_letter_id": "dl-1",
              "scope": {"schema_version": 1, "tenant_context": {"org_id": "o", "workspace_id": "w",
                                                                 "actor_id": "u", "source": "explicit"}},
              "status": "open"}
    text = pr.encode_plain_envelope(record, kind="dead_letter", record_id="dl-1")
    assert text == ('{"tenant_context":{"org_id":"o","workspace_id":"w","actor_id":"u","source":"explicit"},'
                    '"kind":"dead_letter","id":"dl-1","payload":{"schema_version":1,"dead_letter_id":"dl-1",'
                    '"scope":{"schema_version":1,"tenant_context":{"org_id":"o","workspace_id":"w",'
                    '"actor_id":"u","source":"explicit"}},"status":"open"}}')


def test_a_scope_without_tenant_binds_the_local_implicit_tenant() -> None:
    record = {"dead_letter_id": "dl-1", "scope": {}}
    envelope = orjson.loads(pr.encode_plain_envelope(record, kind="dead_letter", record_id="dl-1"))
    assert envelope["tenant_context"] == {"org_id": "local", "workspace_id": "local", "source": "local_implicit"}
    assert pr.scope_columns(record) == ("local", "local", None)


def test_plain_envelope_round_trips() -> None:
    record = _record()
    decoded = _decode(pr.encode_plain_envelope(record, kind="dead_letter", record_id="dead-letter-effect-1"))
    assert decoded == pr.DecodedPayload(record, "plain_envelope")
    assert list(decoded.record) == list(record)


def test_bare_legacy_record_is_accepted() -> None:
    record = _record()
    assert _decode(orjson.dumps(record).decode()) == pr.DecodedPayload(record, "bare")


def test_local_encrypted_round_trips_and_has_the_engine_format() -> None:
    record = _record()
    envelope = pr.encode_plain_envelope(record, kind="dead_letter", record_id="dead-letter-effect-1")
    text = pr.encrypt_local(envelope, kind="dead_letter", record_id="dead-letter-effect-1", columns=COLUMNS, key=KEY)
    assert _decode(text) == pr.DecodedPayload(record, "local_encrypted")
    assert text.startswith("tgs1:")
    body = orjson.loads(text[5:])
    assert list(body) == ["version", "ciphertext"] and body["version"] == 2
    sealed_hex = body["ciphertext"].removeprefix("tce1:")
    assert sealed_hex == sealed_hex.lower()
    sealed = bytes.fromhex(sealed_hex)
    plaintext = orjson.loads(AESGCM(KEY).decrypt(sealed[:12], sealed[12:], None))
    assert plaintext == {
        "context": {"key_scope": {"org_id": "org-a", "workspace_id": "ws-a", "deployment_id": "dep-a",
                                  "data_class": "restricted",
                                  "source_binding_id": "tandem-stateful-runtime:dead_letter"},
                    "policy_decision_id": "tandem-stateful-runtime-record:v1",
                    "audit_id": "dead_letter:dead-letter-effect-1"},
        "payload": envelope,
    }


def test_seal_context_omits_an_absent_deployment() -> None:
    context = pr.expected_seal_context(kind="outbox", record_id="o-1", columns=("o", "w", None))
    assert list(context["key_scope"]) == ["org_id", "workspace_id", "data_class", "source_binding_id"]


def test_two_seals_of_one_payload_differ_by_nonce() -> None:
    args = {"kind": "dead_letter", "record_id": "dead-letter-effect-1", "columns": COLUMNS, "key": KEY}
    assert pr.encrypt_local("{}", **args) != pr.encrypt_local("{}", **args)


@pytest.mark.parametrize(("field", "kwargs"), [
    ("kind", {"kind": "compensation"}),
    ("id", {"record_id": "dead-letter-other"}),
    ("org_id", {"columns": ("org-b", "ws-a", "dep-a")}),
    ("workspace_id", {"columns": ("org-a", "ws-b", "dep-a")}),
    ("deployment_id", {"columns": ("org-a", "ws-a", None)}),
    ("deployment_id", {"columns": ("org-a", "ws-a", "")}),
])
def test_plain_envelope_mismatch_names_the_field(field: str, kwargs: dict) -> None:
    text = pr.encode_plain_envelope(_record(), kind="dead_letter", record_id="dead-letter-effect-1")
    with pytest.raises(pr.PayloadMismatchError) as caught:
        _decode(text, **kwargs)
    assert caught.value.field == field


def test_envelope_without_deployment_mismatches_a_deployment_column() -> None:
    record = dead_letter("dl-1", tenant_context=tenant("org-a", "ws-a"))
    text = pr.encode_plain_envelope(record, kind="dead_letter", record_id="dl-1")
    assert _decode(text, record_id="dl-1", columns=("org-a", "ws-a", None)).record == record
    with pytest.raises(pr.PayloadMismatchError) as caught:
        _decode(text, record_id="dl-1", columns=("org-a", "ws-a", "dep-a"))
    assert caught.value.field == "deployment_id"


def test_sealed_envelope_is_checked_against_the_row_too() -> None:
    envelope = orjson.loads(pr.encode_plain_envelope(_record(), kind="dead_letter", record_id="dead-letter-effect-1"))
    envelope["tenant_context"]["workspace_id"] = "ws-b"
    with pytest.raises(pr.PayloadMismatchError) as caught:
        _decode(_sealed(_record(), envelope=envelope))
    assert caught.value.field == "workspace_id"


@pytest.mark.parametrize("kwargs", [
    {"columns": ("org-b", "ws-a", "dep-a")},
    {"columns": ("org-a", "ws-a", None)},
    {"kind": "compensation"},
    {"record_id": "dead-letter-other"},
])
def test_sealed_context_must_match_the_row(kwargs: dict) -> None:
    with pytest.raises(pr.PayloadMismatchError) as caught:
        _decode(_sealed(_record()), **kwargs)
    assert caught.value.field == "context"


def test_sealed_context_with_an_extra_key_is_refused() -> None:
    context = pr.expected_seal_context(kind="dead_letter", record_id="dead-letter-effect-1", columns=COLUMNS)
    context["purpose"] = "other"
    with pytest.raises(pr.PayloadMismatchError):
        _decode(_sealed(_record(), context=context))


def test_sealed_context_with_null_deployment_equals_an_absent_one() -> None:
    record = dead_letter("dead-letter-effect-1", tenant_context=tenant("org-a", "ws-a"))
    columns = ("org-a", "ws-a", None)
    context = pr.expected_seal_context(kind="dead_letter", record_id="dead-letter-effect-1", columns=columns)
    context["key_scope"]["deployment_id"] = None
    assert _decode(_sealed(record, columns=columns, context=context), columns=columns).record == record


def test_wrong_key_is_a_sealed_payload_error() -> None:
    with pytest.raises(pr.SealedPayloadError) as caught:
        _decode(_sealed(_record()), key=OTHER_KEY)
    assert "wrong key" in caught.value.hint


def test_no_key_is_a_sealed_payload_error_with_a_hint() -> None:
    with pytest.raises(pr.SealedPayloadError) as caught:
        _decode(_sealed(_record()), key=None)
    assert "TANDEM_MEMORY_LOCAL_KEY_FILE" in caught.value.hint


@pytest.mark.parametrize("body", [
    {"version": 2, "ciphertext": "tce1:" + "00" * 40, "envelope": {"wrapped_dek": "x"}},
    {"version": 1, "ciphertext": "tce1:" + "00" * 40},
    {"ciphertext": "tce1:" + "00" * 40},
])
def test_hosted_rows_are_never_decryptable(body: dict) -> None:
    with pytest.raises(pr.SealedPayloadError) as caught:
        _decode("tgs1:" + orjson.dumps(body).decode())
    assert "KMS" in caught.value.hint


@pytest.mark.parametrize(("text", "field"), [
    ('{"truncated": ', "payload"),
    ("[1, 2]", "payload"),
    ('"just a string"', "payload"),
    ("tgs1:not json", "sealed"),
    ("tgs1:[]", "sealed"),
    ('tgs1:{"version":2,"ciphertext":"00"}', "ciphertext"),
    ('tgs1:{"version":2,"ciphertext":"tce1:zz"}', "ciphertext"),
    ('tgs1:{"version":2,"ciphertext":"tce1:' + "AB" * 40 + '"}', "ciphertext"),
    ('tgs1:{"version":2,"ciphertext":"tce1:' + "00" * 20 + '"}', "ciphertext"),
    ('{"tenant_context": 7, "kind": "dead_letter", "id": "dead-letter-effect-1", "payload": {}}', "tenant_context"),
])
def test_undecodable_payloads_name_the_field(text: str, field: str) -> None:
    with pytest.raises(pr.PayloadDecodeError) as caught:
        _decode(text)
    assert caught.value.field == field
    assert not isinstance(caught.value, pr.PayloadMismatchError | pr.SealedPayloadError)


def test_envelope_payload_must_be_an_object() -> None:
    text = orjson.dumps({"tenant_context": TENANT, "kind": "dead_letter", "id": "dead-letter-effect-1",
                         "payload": [1]}).decode()
    with pytest.raises(pr.PayloadDecodeError) as caught:
        _decode(text)
    assert caught.value.field == "payload"


@pytest.mark.parametrize(("data", "key"), [
    (KEY.hex().encode(), KEY),
    (KEY.hex().encode() + b"\n", KEY),
    (b"  " + KEY.hex().upper().encode() + b"\r\n", KEY),
    (bytes(range(200, 232)), bytes(range(200, 232))),
])
def test_local_key_formats(data: bytes, key: bytes) -> None:
    assert pr.parse_local_key(data) == key


@pytest.mark.parametrize(("data", "message"), [
    (b"0123456789abcdef0123456789abcdef", "ambiguous"),
    (b"", "0 bytes"),
    (bytes(31), "31 bytes"),
    (bytes(33), "33 bytes"),
    (b"g" * 64, "64 hex"),
    (KEY.hex().encode()[:-2], "62 bytes"),
])
def test_bad_local_keys_are_refused_clearly(data: bytes, message: str) -> None:
    with pytest.raises(pr.LocalKeyError, match=message):
        pr.parse_local_key(data)


def test_encrypting_needs_a_32_byte_key() -> None:
    with pytest.raises(pr.LocalKeyError):
        pr.encrypt_local("{}", kind="outbox", record_id="o", columns=COLUMNS, key=b"short")


_names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)


@given(org=_names, workspace=_names, deployment=st.none() | _names, encrypt=st.booleans())
def test_any_tenant_round_trips(org: str, workspace: str, deployment: str | None, encrypt: bool) -> None:
    record = dead_letter("dl-x", tenant_context=tenant(org, workspace, deployment=deployment))
    columns = pr.scope_columns(record)
    text = pr.encode_plain_envelope(record, kind="dead_letter", record_id="dl-x")
    if encrypt:
        text = pr.encrypt_local(text, kind="dead_letter", record_id="dl-x", columns=columns, key=KEY)
    decoded = pr.decode_payload(text, kind="dead_letter", record_id="dl-x", columns=columns, key=KEY)
    assert decoded.record == record
    assert decoded.encoding == ("local_encrypted" if encrypt else "plain_envelope")
