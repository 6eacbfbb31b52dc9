"""The operator journal: operation ids, durable tolerant JSONL, history filtering and scoping."""

import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from tandemctl.commands import history
from tandemctl.commands.history import HistoryFilter as F
from tandemctl.engine.dispositions import tenant_label
from tandemctl.errors import NotFoundError
from tandemctl.stores import journal_file
from tests.conftest import NOW_MS

LOCAL = {"org_id": "local", "workspace_id": "local"}
ORG_A = {"org_id": "org-a", "workspace_id": "ws-a"}


def _entry(operation_id: str, *rows: tuple[str, dict[str, str]], action: str = "retry") -> dict[str, Any]:
    return {"journal_version": 1, "operation_id": operation_id, "at_ms": NOW_MS, "action": action,
            "rows": [{"dead_letter_id": dl_id, "tenant": tenant, "fields": ["status"], "before": {},
                      "after": {}} for dl_id, tenant in rows]}


def test_operation_id_is_utc_time_of_now_ms_plus_random_hex() -> None:
    first, second = history.new_operation_id(NOW_MS), history.new_operation_id(NOW_MS)
    assert re.fullmatch(r"op-20261127T000000-[0-9a-f]{8}", first), first
    assert first != second
    assert history.iso_utc(NOW_MS + 5) == "2026-11-27T00:00:00.005Z"


def test_append_writes_one_json_line_per_entry_and_reads_back_in_order(tmp_path: Path) -> None:
    path = tmp_path / "runtime" / "journal.jsonl"
    journal_file.append(path, _entry("op-1", ("dead-1", LOCAL)))
    journal_file.append(path, _entry("op-2", ("dead-2", LOCAL)))
    lines = path.read_bytes().splitlines()
    assert len(lines) == 2 and orjson.loads(lines[1])["operation_id"] == "op-2"
    assert [e["operation_id"] for e in journal_file.read_entries(path)] == ["op-1", "op-2"]


def test_a_torn_last_line_is_closed_off_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    journal_file.append(path, _entry("op-1", ("dead-1", LOCAL)))
    with path.open("ab") as handle:
        handle.write(b'{"operation_id": "op-torn", "rows": [')  # a crash in the middle of an append
    journal_file.append(path, _entry("op-2", ("dead-2", LOCAL)))
    assert [e["operation_id"] for e in journal_file.read_entries(path)] == ["op-1", "op-2"]


def test_reading_skips_foreign_and_malformed_lines(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b'[1, 2]\n{"operation_id": 7, "rows": []}\nnot json\n\n{"operation_id": "op-1", "rows": []}\n')
    assert [e["operation_id"] for e in journal_file.read_entries(path)] == ["op-1"]
    assert journal_file.read_entries(tmp_path / "missing.jsonl") == []


def test_find_operation_or_not_found(tmp_path: Path) -> None:
    entries = [_entry("op-1"), _entry("op-2")]
    assert history.find_operation(entries, "op-2", path=tmp_path)["operation_id"] == "op-2"
    with pytest.raises(NotFoundError, match="op-9"):
        history.find_operation(entries, "op-9", path=tmp_path)


def test_history_is_newest_first_limited_and_filtered_by_dead_letter() -> None:
    entries = [_entry("op-1", ("dead-1", LOCAL)), _entry("op-2", ("dead-2", LOCAL)),
               _entry("op-3", ("dead-1", LOCAL), ("dead-3", LOCAL))]
    def ids(**filt: Any) -> list[str]:
        return [e["operation_id"] for e in history.history(entries, tenant=None, filt=F(**filt))[0]]

    assert ids(limit=0) == ["op-3", "op-2", "op-1"]
    assert ids(limit=2) == ["op-3", "op-2"]
    assert ids(dead_letter_id="dead-1", limit=0) == ["op-3", "op-1"]


def test_history_shows_a_tenant_only_its_own_rows() -> None:
    entries = [_entry("op-1", ("dead-a", ORG_A)), _entry("op-2", ("dead-1", LOCAL), ("dead-a", ORG_A))]
    local = history.history(entries, tenant={**LOCAL, "source": "local_implicit"}, filt=F(limit=0))[0]
    assert [(e["operation_id"], [r["dead_letter_id"] for r in e["rows"]]) for e in local] == [("op-2", ["dead-1"])]
    assert len(history.history(entries, tenant=ORG_A, filt=F(dead_letter_id=None, limit=0))[0]) == 2
    assert history.history(entries, tenant={"org_id": "org-a", "workspace_id": "ws-a", "deployment_id": "d"},
                           filt=F(limit=0)) == ([], 2)  # both hidden, counted


def test_unreadable_journal_lines_are_reported_by_number(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    journal_file.append(path, _entry("op-1"))
    with open(path, "ab") as handle:
        handle.write(b'{"operation_id": "op-2", "rows": [tor\n')
    journal_file.append(path, _entry("op-3"))
    entries, bad = journal_file.read_journal(path)
    assert [e["operation_id"] for e in entries] == ["op-1", "op-3"] and bad == [2]


def test_tenant_label() -> None:
    assert tenant_label({"org_id": "o", "workspace_id": "w"}) == "o/w"
    assert tenant_label({"org_id": "o", "workspace_id": "w", "deployment_id": "d"}) == "o/w/d"
