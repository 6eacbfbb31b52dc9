"""Hostile and broken reliability stores (property-based): every case ends in exit 0 or a
one-line error naming the file, exit 5, no traceback, and the file untouched."""

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tandemctl.cli.app import app
from tests.factories import dead_letter, tenant, write_store

FUZZ_CASES = {"n": 0}

BASE_ROWS = [
    dead_letter("dead-1", status="retry_requested", metadata={"retry_dispatch_count": 1}),
    dead_letter("dead-2", tenant_context=tenant("org-a", "ws-a", deployment="prod"), updated=5000),
    dead_letter("dead-3", status="ignored", operator_disposition="ignored", disposition_reason="noise",
                disposition_actor={"kind": "human_user", "id": "ops"}, disposition_at_ms=3000, updated=3000),
]

# Values that are wrong for the typed field they land in (the engine rejects the whole file).
WRONG_FOR_U64 = [1000.0, -1, "1000", None, True, 2**64, [1], {"a": 1}]
WRONG_FOR_STR = [5, None, True, ["x"], {"a": "b"}, 1.5]
WRONG_ENUM = ["Open", "retry-requested", "RESOLVED", "", "dead", "open "]
REQUIRED = ["dead_letter_id", "source_type", "source_id", "scope", "reason", "status", "created_at_ms",
            "updated_at_ms"]


def _run(state_root: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--state-dir", str(state_root), "--all-tenants", *args],
                              env={"NO_COLOR": "1", "TANDEMCTL_NOW_MS": "1795737600000"}, catch_exceptions=False)


def _check(data: bytes, *, expect_valid: bool | None) -> None:
    FUZZ_CASES["n"] += 1
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = root / "data" / "runtime" / "stateful_reliability.json"
        store.parent.mkdir(parents=True)
        store.write_bytes(data)
        result = _run(root, "-o", "json", "dead-letters", "list", "--limit", "0")
        assert result.exit_code in (0, 5), result.stderr
        assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
        body = json.loads(result.stdout)
        if result.exit_code == 5:
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and str(store) in lines[0]
            assert body["ok"] is False and body["errors"][0]["code"] in ("corrupt_state", "unsupported_state")
        if expect_valid is not None:
            assert (result.exit_code == 0) == expect_valid, result.stderr
        assert store.read_bytes() == data
        assert sorted(p.name for p in store.parent.iterdir()) == ["stateful_reliability.json"]


def _base() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        return write_store(Path(tmp) / "s.json", [dict(r) for r in BASE_ROWS])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=10_000))
def test_truncated_files(cut: int) -> None:
    data = _base()
    _check(data[: cut % len(data)], expect_valid=None)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.binary(min_size=1, max_size=3))
def test_corrupted_bytes(pos: int, junk: bytes) -> None:
    data = bytearray(_base())
    at = pos % len(data)
    data[at:at + len(junk)] = junk
    _check(bytes(data), expect_valid=None)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2), st.sampled_from(["attempts", "created_at_ms", "updated_at_ms"]),
       st.sampled_from(WRONG_FOR_U64))
def test_wrong_integer_values(row: int, field: str, value: Any) -> None:
    rows = [dict(r) for r in BASE_ROWS]
    rows[row][field] = value
    _check(json.dumps({"schema_version": 1, "dead_letters": rows}).encode(), expect_valid=False)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2), st.sampled_from(["dead_letter_id", "reason", "source_id", "source_type"]),
       st.sampled_from(WRONG_FOR_STR))
def test_wrong_string_values(row: int, field: str, value: Any) -> None:
    rows = [dict(r) for r in BASE_ROWS]
    rows[row][field] = value
    _check(json.dumps({"dead_letters": rows}).encode(), expect_valid=False)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2), st.sampled_from(WRONG_ENUM), st.sampled_from(["status", "option", "kind", "source"]))
def test_unknown_enum_values(row: int, value: str, where: str) -> None:
    rows = [dict(r) for r in BASE_ROWS]
    if where == "status":
        rows[row]["status"] = value
    elif where == "option":
        rows[row]["recovery_options"] = ["retry", value]
    elif where == "kind":
        rows[row]["disposition_actor"] = {"kind": value, "id": "x"}
    else:
        rows[row]["scope"] = {"tenant_context": {"org_id": "o", "workspace_id": "w", "source": value}}
    _check(json.dumps({"dead_letters": rows}).encode(), expect_valid=False)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2), st.sampled_from(REQUIRED))
def test_missing_required_fields(row: int, field: str) -> None:
    rows = [dict(r) for r in BASE_ROWS]
    del rows[row][field]
    _check(json.dumps({"dead_letters": rows}).encode(), expect_valid=False)


@settings(max_examples=40, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_arbitrary_ids_and_reasons_are_valid_and_listed_inert(text: str) -> None:
    rows = [dead_letter(f"dead/{text}/..", reason=f"\x1b[31m{text}\x07 [bold]x[/]", metadata={"p": "../../etc"})]
    data = json.dumps({"dead_letters": rows}, ensure_ascii=False).encode("utf-8", "surrogatepass")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        _check(data, expect_valid=False)  # lone surrogates are not UTF-8
        return
    _check(data, expect_valid=True)
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "data" / "runtime" / "stateful_reliability.json"
        store.parent.mkdir(parents=True)
        store.write_bytes(data)
        table = _run(Path(tmp), "dead-letters", "list")
        assert table.exit_code == 0 and "\x1b" not in table.stdout and "\x07" not in table.stdout


def test_huge_strings_and_bom_and_duplicates() -> None:
    big = [dead_letter("dead-big", reason="x" * 2_000_000, metadata={"blob": "y" * 1_000_000})]
    _check(json.dumps({"dead_letters": big}).encode(), expect_valid=True)
    _check(b"\xef\xbb\xbf" + _base(), expect_valid=False)
    dup = _base().replace(b'"status": "ignored",', b'"status": "ignored",\n      "status": "open",', 1)
    _check(dup, expect_valid=False)
    _check(json.dumps({"dead_letters": [dead_letter("d", metadata=[[[[[[[[1]]]]]]]])]}).encode(),
           expect_valid=True)
    deep: Any = 1
    for _ in range(300):
        deep = {"k": deep}
    _check(json.dumps({"dead_letters": [dead_letter("d", metadata=deep)]}).encode(), expect_valid=False)


def test_fuzz_case_count_is_reported(capsys: Any) -> None:
    # Not an assertion about behaviour: prints how many hostile cases ran (see docs/reliability.md).
    print(f"hostile store cases run so far: {FUZZ_CASES['n']}")
