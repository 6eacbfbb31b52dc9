"""The chunked strict load of `list`: same verdicts as the full load, on generated engine-layout stores."""

from pathlib import Path

import orjson
import pytest

from benchmarks.generate import generate_state
from tandemctl.engine import struct_check
from tandemctl.engine.jsonio import dumps_pretty
from tandemctl.errors import CorruptStateError, UnsupportedStateError
from tandemctl.stores import json_chunked
from tandemctl.stores.json_codec import parse_reliability_layout
from tandemctl.stores.json_file import JsonReliabilityFile
from tests.factories import dead_letter


@pytest.fixture(scope="module")
def store_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    state = generate_state(tmp_path_factory.mktemp("gen"), dead_letters=80, seed=3)
    return state.reliability_file.read_bytes()


@pytest.fixture(params=[(json_chunked.CHUNK_BYTES, True), (1, True), (json_chunked.CHUNK_BYTES, False)],
                ids=["large-chunks", "one-record-chunks", "without-msgspec"])
def chunk_bytes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    size, with_msgspec = request.param
    monkeypatch.setattr(json_chunked, "CHUNK_BYTES", size)
    if not with_msgspec:  # the dict-based check alone, as where msgspec is not installed
        monkeypatch.setattr(struct_check, "msgspec", None)
        monkeypatch.setattr(struct_check, "_cache", {})


def _full(data: bytes, tmp_path: Path) -> tuple[list[object], bool]:
    store, canonical = parse_reliability_layout(data, tmp_path / "s.json")
    return list(store.dead_letters), canonical


@pytest.mark.usefixtures("chunk_bytes")
def test_engine_layout_gives_the_full_loads_rows(store_bytes: bytes, tmp_path: Path) -> None:
    rows, canonical = _full(store_bytes, tmp_path)
    assert canonical
    assert json_chunked.canonical_dead_letters(store_bytes) == rows


def _replace_once(data: bytes, old: bytes, new: bytes, *, after: bytes = b"") -> bytes:
    start = data.index(after) if after else 0
    at = data.index(old, start)
    return data[:at] + new + data[at + len(old):]


# Each edit keeps the engine's layout (so only the chunked proof, not a layout mismatch, can catch it).
BAD_EDITS = {
    "negative attempts in outbox": (b'"attempts": 1,', b'"attempts": -1,', b'"outbox": ['),
    "string created_at_ms in tool_effects": (b'"created_at_ms": 1', b'"created_at_ms": "1', b'"tool_effects": ['),
    "unknown status in dead_letters": (b'"status": "open"', b'"status": "opened"', b'"dead_letters": ['),
    "float attempts in compensations": (b'"attempts": 1,', b'"attempts": 1.5,', b'"compensations": ['),
    "u64 overflow": (b'"updated_at_ms": 1', b'"updated_at_ms": 99999999999999999999', b'"dead_letters": ['),
    "null required field": (b'"reason": "', b'"reason": null, "x": "', b'"dead_letters": ['),
}


@pytest.mark.usefixtures("chunk_bytes")
@pytest.mark.parametrize("edit", list(BAD_EDITS), ids=list(BAD_EDITS))
def test_a_bad_row_in_any_array_is_left_to_the_full_load_which_rejects_it(
        store_bytes: bytes, tmp_path: Path, edit: str) -> None:
    old, new, after = BAD_EDITS[edit]
    data = _replace_once(store_bytes, old, new, after=after)
    assert json_chunked.canonical_dead_letters(data) is None
    path = tmp_path / "stateful_reliability.json"
    path.write_bytes(data)
    with pytest.raises(CorruptStateError):
        JsonReliabilityFile(path).dead_letters_for_listing({"XDG_CACHE_HOME": str(tmp_path)}, lazy=False)


@pytest.mark.usefixtures("chunk_bytes")
@pytest.mark.parametrize("collection", ["outbox", "tool_effects", "dead_letters", "compensations"])
def test_a_duplicate_key_in_engine_layout_is_rejected(store_bytes: bytes, tmp_path: Path,
                                                      collection: str) -> None:
    # A second "attempts" line in the first record of the array, indented like its neighbours.
    at = store_bytes.index(b'\n      "attempts": ', store_bytes.index(f'"{collection}": ['.encode()))
    data = store_bytes[:at] + b'\n      "attempts": 0,' + store_bytes[at:]
    assert json_chunked.canonical_dead_letters(data) is None
    with pytest.raises(CorruptStateError, match="duplicate key 'attempts'"):
        parse_reliability_layout(data, tmp_path / "s.json")


def test_a_duplicate_top_level_array_is_rejected(store_bytes: bytes, tmp_path: Path) -> None:
    data = store_bytes[:-2] + b',\n  "outbox": []\n}'
    assert json_chunked.canonical_dead_letters(data) is None
    with pytest.raises(CorruptStateError, match="duplicate key 'outbox'"):
        parse_reliability_layout(data, tmp_path / "s.json")


def test_other_layouts_are_left_to_the_full_load(store_bytes: bytes, tmp_path: Path) -> None:
    compact = b"".join(line.strip() for line in store_bytes.split(b"\n"))
    empty_spread = b'{\n  "schema_version": 1,\n  "outbox": [\n  ],\n  "dead_letters": []\n}'
    for data in (compact, store_bytes + b"\n", empty_spread):
        assert json_chunked.canonical_dead_letters(data) is None
        _full(data, tmp_path)  # valid, just not the engine's exact bytes: the full load accepts it
    with_bom = b"\xef\xbb\xbf" + store_bytes
    assert json_chunked.canonical_dead_letters(with_bom) is None
    with pytest.raises(CorruptStateError, match="byte-order mark"):
        _full(with_bom, tmp_path)


def test_a_newer_schema_is_left_to_the_full_load(store_bytes: bytes, tmp_path: Path) -> None:
    data = store_bytes.replace(b'{\n  "schema_version": 1,', b'{\n  "schema_version": 2,', 1)
    assert json_chunked.canonical_dead_letters(data) is None
    with pytest.raises(UnsupportedStateError):
        parse_reliability_layout(data, tmp_path / "s.json")


def test_too_deep_metadata_is_rejected(tmp_path: Path) -> None:
    deep: object = 1
    for _ in range(130):
        deep = {"a": deep}
    data = dumps_pretty({"schema_version": 1, "outbox": [], "tool_effects": [],
                         "dead_letters": [{**dead_letter("dl-1"), "metadata": deep}], "compensations": []})
    assert json_chunked.canonical_dead_letters(data) is None
    with pytest.raises(CorruptStateError, match="nested deeper"):
        parse_reliability_layout(data, tmp_path / "s.json")


def test_arrays_in_another_order_are_left_to_the_full_load(store_bytes: bytes, tmp_path: Path) -> None:
    top = orjson.loads(store_bytes)
    reordered = dumps_pretty({"dead_letters": top["dead_letters"],
                              **{key: value for key, value in top.items() if key != "dead_letters"}})
    assert json_chunked.canonical_dead_letters(reordered) is None
    assert _full(reordered, tmp_path) == _full(store_bytes, tmp_path)


@pytest.mark.usefixtures("chunk_bytes")
def test_unknown_top_level_keys_between_arrays_are_kept_out_of_the_arrays(store_bytes: bytes,
                                                                           tmp_path: Path) -> None:
    top = orjson.loads(store_bytes)
    extra: dict[str, object] = {}
    for key, value in top.items():
        extra[key] = value
        extra[f"x_{key}"] = {"a": [1, {"b": []}], "c": "  ]"}
    data = dumps_pretty(extra)
    rows, canonical = _full(data, tmp_path)
    assert canonical
    assert json_chunked.canonical_dead_letters(data) == rows


@pytest.mark.usefixtures("chunk_bytes")
def test_unknown_keys_and_explicit_nulls_are_still_proven(store_bytes: bytes, tmp_path: Path) -> None:
    top = orjson.loads(store_bytes)
    for collection in ("outbox", "tool_effects", "dead_letters", "compensations"):
        top[collection][0] = {**top[collection][0], "x_future_field": {"k": [1]}, "run_id": None}
    data = dumps_pretty(top)
    rows, canonical = _full(data, tmp_path)
    assert canonical
    assert json_chunked.canonical_dead_letters(data) == rows
