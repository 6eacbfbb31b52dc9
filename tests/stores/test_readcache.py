"""The list fast path: a store validated in full is not validated again while it is unchanged;
any change (rename or in-place edit, even one that restores mtime) means a full strict load."""

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import StateDir
from tests.factories import dead_letter, tenant, write_store

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "state" / "data"
QUERIES = [
    ("--all-tenants", "dead-letters", "list"),
    ("--all-tenants", "dead-letters", "list", "--limit", "0"),
    ("--all-tenants", "dead-letters", "list", "--limit", "3"),
    ("--all-tenants", "dead-letters", "list", "--limit", "2", "--after-id", "dead-letter-effect-d5345dd5895401de"),
    ("dead-letters", "list", "--status", "retry_requested"),
    ("--tenant", "acme/ops", "dead-letters", "list", "--active-only"),
    ("--all-tenants", "dead-letters", "list", "--reason-match", "HTTP 5", "--limit", "1"),
    ("--all-tenants", "dead-letters", "list", "--limit", "1", "--after-id", "no-such-id"),
]


@pytest.fixture
def sample(state: StateDir) -> StateDir:
    shutil.rmtree(state.data)
    shutil.copytree(SAMPLE, state.data)
    return state


def _cache_files(root: Path) -> list[Path]:
    return sorted((root / "xdg-cache" / "tandemctl").glob("validated-*.json"))


@pytest.mark.parametrize("query", QUERIES, ids=[" ".join(q[-3:]) for q in QUERIES])
def test_warm_listing_equals_a_full_strict_load(tandemctl, sample: StateDir, tmp_path: Path,
                                                query: tuple[str, ...]) -> None:
    cold = tandemctl("-o", "json", *query)
    assert cold.exit_code == 0 and len(_cache_files(tmp_path)) == 1
    warm = tandemctl("-o", "json", *query)
    assert warm.stdout == cold.stdout and warm.exit_code == 0
    table_cold = tandemctl(*query, env={"XDG_CACHE_HOME": str(tmp_path / "elsewhere")})
    table_warm = tandemctl(*query)
    assert table_warm.stdout == table_cold.stdout


def test_in_place_edit_that_restores_mtime_is_still_caught(tandemctl, sample: StateDir) -> None:
    assert tandemctl("dead-letters", "list").exit_code == 0
    before = sample.reliability.stat()
    data = sample.reliability.read_bytes()
    broken = data.replace(b'"status": "open"', b'"status": "OPEN"', 1)
    assert len(broken) == len(data) and broken != data
    with open(sample.reliability, "r+b") as handle:  # same inode, same size
        handle.write(broken)
    os.utime(sample.reliability, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert sample.reliability.stat().st_mtime_ns == before.st_mtime_ns
    result = tandemctl("--all-tenants", "dead-letters", "list")
    assert result.exit_code == 5 and "status" in result.stderr


def test_engine_style_replacement_is_validated_again(tandemctl, sample: StateDir) -> None:
    assert tandemctl("dead-letters", "list").exit_code == 0
    replacement = sample.reliability.with_name("stateful_reliability.json.tmp")
    replacement.write_bytes(sample.reliability.read_bytes().replace(b'"attempts": 1', b'"attempts": 1.0', 1))
    os.replace(replacement, sample.reliability)
    result = tandemctl("--all-tenants", "dead-letters", "list")
    assert result.exit_code == 5 and "attempts" in result.stderr


def test_a_write_by_tandemctl_is_seen(tandemctl, sample: StateDir) -> None:
    first = tandemctl("--all-tenants", "-o", "json", "dead-letters", "list").json()["data"]
    target = next(r for r in first if r["status"] == "open" and r["source_type"] == "tool_effect")
    assert tandemctl("--all-tenants", "dead-letters", "park", target["dead_letter_id"], "--reason", "x").exit_code == 0
    after = tandemctl("--all-tenants", "-o", "json", "dead-letters", "list").json()["data"]
    assert next(r for r in after if r["dead_letter_id"] == target["dead_letter_id"])["status"] == "ignored"


def test_non_canonical_store_is_never_remembered(tandemctl, state: StateDir, tmp_path: Path) -> None:
    rows = [dead_letter("d1", tenant_context=tenant("o", "w"))]
    state.reliability.write_text(json.dumps({"dead_letters": rows}))  # compact, not the engine layout
    assert tandemctl("--all-tenants", "dead-letters", "list").exit_code == 0
    assert _cache_files(tmp_path) == []


def test_garbage_cache_entry_falls_back_to_a_full_load(tandemctl, sample: StateDir, tmp_path: Path) -> None:
    cold = tandemctl("--all-tenants", "-o", "json", "dead-letters", "list").stdout
    for entry in _cache_files(tmp_path):
        entry.write_bytes(b"{not json")
    assert tandemctl("--all-tenants", "-o", "json", "dead-letters", "list").stdout == cold
    for entry in _cache_files(tmp_path):
        entry.write_text(json.dumps({"format": 1, "version": "x", "key": [1], "span": [0, 1]}))
    assert tandemctl("--all-tenants", "-o", "json", "dead-letters", "list").stdout == cold


def test_empty_dead_letter_array_is_handled(tandemctl, state: StateDir) -> None:
    write_store(state.reliability, [])
    assert tandemctl("-o", "json", "dead-letters", "list").json()["data"] == []
    assert tandemctl("-o", "json", "dead-letters", "list").json()["data"] == []
