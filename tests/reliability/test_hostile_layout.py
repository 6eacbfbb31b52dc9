"""Hostile layouts and values (the fuzzers are in test_hostile_files.py): duplicate dead-letter ids,
ids with path separators, symlinks out of the data dir, directories where files should be and the
reverse, an exhausted audit seq, a tampered sweep intent, a malformed journal record, and record
text that tries to drive the terminal. Every refusal is one stderr line naming the file, with a
documented exit code, and no file modified."""

import json
import re
import shutil
from pathlib import Path

import pytest

from tandemctl.engine.audit_chain import build_protected_event
from tests.reliability_helpers import (
    HOSTILE_ENV,
    assert_one_line_error,
    hostile_template,
    make_idle,
    report,
    run_in_process,
    snapshot,
)
from tests.sweep_fixtures import NOW, SweepDir, group_a_dead_letter, run_record

ENV = HOSTILE_ENV
SWEEP = ["-o", "json", "sweep", "--once"]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> SweepDir:
    return hostile_template(tmp_path_factory.mktemp("layout") / "state")


# --- layout: duplicate ids, path separators, symlinks, directories ---------------------------------

def _fresh(template: SweepDir, tmp: Path) -> SweepDir:
    d = SweepDir(tmp / "state")
    shutil.copytree(template.root, d.root)
    return d


def test_duplicate_dead_letter_ids_are_listed_but_never_written(template: SweepDir, tmp_path: Path) -> None:
    d = _fresh(template, tmp_path)
    rows = [group_a_dead_letter("dl-hot", run_id="run-hot", updated=1460),
            group_a_dead_letter("dl-hot", run_id="run-def", status="open", updated=1450)]
    d.write_dead_letters(rows)
    make_idle(d.paths.reliability_file)
    listed = run_in_process(d.root, ["--all-tenants", "-o", "json", "dead-letters", "list"], ENV)
    assert [row["run_id"] for row in listed.json()["data"]] == ["run-hot", "run-def"]  # reads show both
    before = snapshot(d.root)
    for args in (["--all-tenants", "dead-letters", "park", "dl-hot", "--reason", "x"],
                 ["--all-tenants", "dead-letters", "resolve", "--status", "open", "--reason", "x", "--yes"], SWEEP):
        line = assert_one_line_error(run_in_process(d.root, args, ENV), names=d.paths.reliability_file)
        assert "dead_letters[0] and dead_letters[1]" in line and "'dl-hot'" in line
        assert snapshot(d.root) == before


def test_run_ids_with_path_separators_never_reach_outside_the_shard_dir(tmp_path: Path) -> None:
    d = SweepDir(tmp_path / "data-root" / "state")
    month = d.paths.shard_root / "2026" / "01"
    evil = "../" * 6 + "outside/evil"  # month dir -> ... -> tmp_path/data-root, then outside/
    outside = tmp_path / "data-root" / "outside"
    assert (month / f"{evil}.json").resolve() == (outside / "evil.json").resolve()
    outside.mkdir(parents=True)
    (outside / "evil.json").write_text(json.dumps({"schema_version": 1, "run": run_record(evil)}))
    d.write_runs([run_record("run-other")])
    d.write_dead_letters([group_a_dead_letter("dl-evil", run_id=evil), group_a_dead_letter(
        "dl-ctl", run_id="run-\x1b[2J\x00", updated=1300)])
    month.mkdir(parents=True)
    trap = snapshot(outside)
    result = run_in_process(d.root, SWEEP, ENV)
    assert result.exit_code == 0 and {s["reason"] for s in result.json()["data"]["skipped"]} == {"run_not_found"}
    d.write_runs([run_record(evil), run_record("run-\x1b[2J\x00")])  # now the runs are hot: requeued
    result = run_in_process(d.root, SWEEP, ENV)
    assert result.exit_code == 0 and len(result.json()["data"]["dispatched"]) == 2, result.stderr
    assert snapshot(outside) == trap
    assert sorted(p.name for p in month.iterdir()) == sorted(  # the engine's sanitizing: [^A-Za-z0-9_-] -> _
        re.sub(r"[^A-Za-z0-9_-]", "_", run_id) + ".json" for run_id in (evil, "run-\x1b[2J\x00"))


@pytest.mark.parametrize("name", ["runs", "audit", "definition", "intent", "store", "journal"])
def test_state_files_that_are_symlinks_out_of_the_data_dir_are_refused(template: SweepDir, tmp_path: Path,
                                                                        name: str) -> None:
    d = _fresh(template, tmp_path)
    d.write_runs([run_record("run-hot"), run_record("run-def", with_snapshot=False)])  # needs the definition
    make_idle(d.paths.reliability_file)
    link = {"runs": d.paths.runs_file, "audit": d.paths.audit_file, "store": d.paths.reliability_file,
            "definition": d.paths.definitions_dir / "automation-dead-letter.json", "journal": d.paths.journal_file,
            "intent": d.paths.runtime_dir / "tandemctl-sweep.intent.json"}[name]
    victim = tmp_path / "outside" / "victim.json"
    victim.parent.mkdir()
    victim.write_bytes(link.read_bytes() if link.exists() else b"{}")
    link.unlink(missing_ok=True)
    link.symlink_to(victim)
    before, outside = snapshot(d.root), snapshot(victim.parent)
    commands = [["--all-tenants", "dead-letters", "park", "dl-hot", "--reason", "x"], ["--all-tenants", "history"]] \
        if name == "journal" else [SWEEP]
    for args in commands:
        assert_one_line_error(run_in_process(d.root, args, ENV), names=link)
        assert snapshot(d.root) == before and snapshot(victim.parent) == outside and link.is_symlink()


def test_a_shard_that_is_a_symlink_is_never_read_or_written_through(template: SweepDir, tmp_path: Path) -> None:
    d = _fresh(template, tmp_path)
    shard = next(d.paths.shard_root.rglob("run-shard.json"))
    victim = tmp_path / "victim.json"
    victim.write_bytes(shard.read_bytes())
    shard.unlink()
    shard.symlink_to(victim)  # unreadable to the engine and to tandemctl: the run is not found
    target = d.paths.shard_root / "2026" / "01" / "run-hot.json"  # where the requeue writes run-hot
    target.parent.mkdir(parents=True)
    target.symlink_to(victim)
    result = run_in_process(d.root, SWEEP, ENV)
    data = result.json()["data"]
    assert {"dead_letter_id": "dl-shard", "reason": "run_not_found"} in data["skipped"]
    assert "run-hot" in data["runs_requeued"] and not target.is_symlink()  # the link was replaced, not followed
    assert victim.read_bytes() == shard.resolve().read_bytes() and shard.is_symlink()


@pytest.mark.parametrize("name", ["runs", "audit", "store", "journal", "intent", "action-intent"])
def test_a_directory_where_a_state_file_should_be_is_refused(template: SweepDir, tmp_path: Path, name: str) -> None:
    d = _fresh(template, tmp_path)
    path = {"runs": d.paths.runs_file, "audit": d.paths.audit_file, "store": d.paths.reliability_file,
            "journal": d.paths.journal_file, "intent": d.paths.runtime_dir / "tandemctl-sweep.intent.json",
            "action-intent": d.paths.runtime_dir / "stateful_reliability.json.tandemctl.intent"}[name]
    path.unlink(missing_ok=True)
    path.mkdir()
    before = snapshot(d.root)
    park = ["--all-tenants", "dead-letters", "park", "dl-hot", "--reason", "x"]
    commands = {"journal": [park, ["history"]], "store": [park, SWEEP], "action-intent": [park, SWEEP]}.get(
        name, [SWEEP])  # a park never reads the runs file, the ledger or the sweep's intent
    for args in commands:
        line = assert_one_line_error(run_in_process(d.root, args, ENV), names=path)
        assert "is a directory" in line and snapshot(d.root) == before


def test_a_file_where_the_shard_dir_should_be_stops_the_sweep_with_its_intent_kept(template: SweepDir,
                                                                                     tmp_path: Path) -> None:
    d = _fresh(template, tmp_path)
    year = d.paths.shard_root / "2026"
    year.write_text("not a directory")
    before = snapshot(d.root)
    line = assert_one_line_error(run_in_process(d.root, SWEEP, ENV), names=year, codes=(1,))
    assert "Not a directory" in line and "keeps its intent" in line
    after = snapshot(d.root)
    assert {k: v for k, v in after.items() if "intent" not in k} == before  # nothing else was written
    year.unlink()
    again = run_in_process(d.root, ["sweep", "--once"], ENV)
    assert again.exit_code == 0 and "finished an interrupted sweep first: 3 run(s) requeued" in again.stderr


def test_an_audit_ledger_at_the_largest_seq_is_refused_and_out_of_range_seqs_are_skipped(template: SweepDir,
                                                                                        tmp_path: Path) -> None:
    d = _fresh(template, tmp_path)
    last = build_protected_event(event_id="event-max", event_type="t", tenant=None, actor=None, payload={},
                                 created_at_ms=1, seq=2**64 - 1, prev_hash=None)
    d.paths.audit_file.write_bytes(json.dumps(last).encode() + b"\n")
    before = snapshot(d.root)
    line = assert_one_line_error(run_in_process(d.root, SWEEP, ENV), names=d.paths.audit_file)
    assert "18446744073709551615" in line and snapshot(d.root) == before
    d.paths.audit_file.write_bytes(b'{"seq": -3, "event_id": "a"}\n{"seq": 1e30, "event_id": "b"}\n')
    assert run_in_process(d.root, SWEEP, ENV).exit_code == 0  # not u64: skipped, like the engine's parse
    assert [line["seq"] for line in d.audit()[2:]] == [1, 2, 3]


def test_a_tampered_sweep_intent_never_writes_outside_the_shard_dir(template: SweepDir, tmp_path: Path) -> None:
    d = _fresh(template, tmp_path)
    intent = {"tandemctl_sweep_intent": 1, "now_ms": NOW, "audit": [], "dead_letters": [], "runs": [
        {"run_id": "run-hot", "map_key": "run-hot", "prior": None, "record": run_record("run-hot"),
         "shard": "../../../../../../outside/pwned.json"}]}
    path = d.paths.runtime_dir / "tandemctl-sweep.intent.json"
    path.write_text(json.dumps(intent))
    before = snapshot(tmp_path)
    assert_one_line_error(run_in_process(d.root, SWEEP, ENV), names=path)
    assert snapshot(tmp_path) == before and not (tmp_path / "outside").exists()


def test_undo_of_a_journal_row_without_an_id_is_refused_not_not_found(template: SweepDir, tmp_path: Path) -> None:
    d = _fresh(template, tmp_path)
    entry = {"operation_id": "op-bad", "rows": [{"fields": ["status"], "before": {}, "after": {}}]}
    d.paths.journal_file.write_bytes(d.paths.journal_file.read_bytes() + json.dumps(entry).encode() + b"\n")
    result = run_in_process(d.root, ["--all-tenants", "-o", "json", "undo", "op-bad", "--yes"], ENV)
    assert result.exit_code == 6 and result.json()["data"]["refused"][0]["reason"] == (
        "the journal record of op-bad names no dead letter")


# --- terminal safety ------------------------------------------------------------------------------

ESCAPES = "\x1b[2J\x1b[31m\x1b]8;;http://evil\x07x\x1b]8;;\x07\x9b31m\r\x08"
MARKUP = "[bold red]boom[/bold red][link=file:///etc/passwd]y[/link]"
_RAW_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def test_record_text_is_shown_inert_in_every_table(tmp_path: Path) -> None:
    d = SweepDir(tmp_path / "state")
    evil_run, evil_tenant = f"run-{ESCAPES}{MARKUP}", {"org_id": f"org{ESCAPES}", "workspace_id": MARKUP,
                                                        "source": "explicit"}
    d.write_runs([run_record(evil_run, tenant_context=evil_tenant)])
    d.write_dead_letters([
        group_a_dead_letter(f"dl-retry{ESCAPES}{MARKUP}", run_id=evil_run, tenant_context=evil_tenant),
        group_a_dead_letter(f"dl-park{ESCAPES}{MARKUP}", status="open", reason=f"why{ESCAPES}{MARKUP}",
                            tenant_context=evil_tenant, updated=1300)])
    make_idle(d.paths.reliability_file)
    env = {**ENV, "COLUMNS": "1000"}
    commands = [
        ["--all-tenants", "dead-letters", "list"],
        ["--all-tenants", "--actor", f"mallory{ESCAPES}{MARKUP}", "dead-letters", "park", f"dl-park{ESCAPES}{MARKUP}",
         f"nope{ESCAPES}{MARKUP}", "--reason", f"because{ESCAPES}{MARKUP}"],
        ["--all-tenants", "history"],
        ["sweep", "--once"],
        ["--all-tenants", "undo", f"op-{ESCAPES}{MARKUP}"],
    ]
    for args in commands:
        result = run_in_process(d.root, args, env)
        assert result.exit_code in (0, 3), (args, result.stderr)
        for text in (result.stdout, result.stderr):
            assert not _RAW_CONTROL.search(text), (args, text)
        assert "\\x1b" in result.stdout + result.stderr and MARKUP in result.stdout + result.stderr, args
    report("terminal safety", commands=len(commands), raw_control_characters=0)
