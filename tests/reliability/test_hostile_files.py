"""Hostile and broken files other than the store (test_hostile_store.py fuzzes the store): the runs
file, history shards, definitions, the audit ledger, the journal and the config, fuzzed with
hypothesis. Every case is accepted the way the engine accepts it, or refused with a documented exit
code, one stderr line naming the file, no traceback and no file modified. (Hostile layouts such as
symlinks, duplicate ids and path separators in ids: test_hostile_layout.py.)"""

import json
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tandemctl.engine.run_store import parse_runs_file
from tandemctl.stores.json_codec import parse_reliability
from tests.reliability_helpers import (
    MUTATIONS,
    assert_refused_or_accepted,
    hostile_template,
    make_idle,
    mutate_json_bytes,
    report,
    run_in_process,
    snapshot,
)
from tests.sweep_fixtures import NOW, SweepDir

ENV = {"TANDEMCTL_NOW_MS": str(NOW)}
SWEEP = ["-o", "json", "sweep", "--once"]
CASES: Counter[str] = Counter()
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> SweepDir:
    return hostile_template(tmp_path_factory.mktemp("hostile") / "state")


def _hostile_copy(template: SweepDir, tmp: str, target: str, kind: str, position: int, choice: int) -> tuple[
        SweepDir, Path]:
    d = SweepDir(Path(tmp) / "state")
    shutil.copytree(template.root, d.root)
    path = {"runs": d.paths.runs_file, "audit": d.paths.audit_file, "journal": d.paths.journal_file,
            "definition": d.paths.definitions_dir / "automation-dead-letter.json", "config": d.root / "config.toml",
            "shard": next(d.paths.shard_root.rglob("run-shard.json"))}[target]
    path.write_bytes(mutate_json_bytes(path.read_bytes(), kind, position, choice, jsonl=target in ("audit", "journal")))
    return d, path


@settings(FUZZ, max_examples=120)
@given(st.sampled_from(["runs", "shard", "definition", "audit"]), st.sampled_from(MUTATIONS),
       st.integers(0, 10**7), st.integers(0, 10**4))
def test_the_sweep_on_a_hostile_runs_shard_definition_or_audit_file(template: SweepDir, target: str, kind: str,
                                                                     position: int, choice: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d, hostile = _hostile_copy(template, tmp, target, kind, position, choice)
        before = snapshot(d.root)
        result = run_in_process(d.root, SWEEP, ENV)
        after = snapshot(d.root)
        refused = assert_refused_or_accepted(result, hostile=hostile, before=before, after=after)
        CASES[f"sweep/{target}/{'refused' if refused else 'accepted'}"] += 1
        if refused:
            return
        outcome = result.json()["data"]
        name = str(hostile.relative_to(d.root))
        if target in ("shard", "definition"):
            assert after[name] == before[name]  # the sweep never rewrites these in place
        audit = str(d.paths.audit_file.relative_to(d.root))
        assert after[audit].startswith(before[audit])  # the ledger is only ever appended to
        parse_reliability(d.paths.reliability_file.read_bytes(), d.paths.reliability_file)
        if after[str(d.paths.runs_file.relative_to(d.root))] != before[str(d.paths.runs_file.relative_to(d.root))]:
            old = parse_runs_file(before[str(d.paths.runs_file.relative_to(d.root))], d.paths.runs_file).entries
            new = parse_runs_file(d.paths.runs_file.read_bytes(), d.paths.runs_file).entries
            assert {k: v for k, v in new.items() if k not in outcome["runs_requeued"]} == {
                k: v for k, v in old.items() if k not in outcome["runs_requeued"]}  # other entries untouched
        if outcome["acted"] == 0:
            assert after == before


@FUZZ
@given(st.sampled_from(MUTATIONS), st.integers(0, 10**7), st.integers(0, 10**4))
def test_audit_verify_on_a_hostile_ledger(template: SweepDir, kind: str, position: int, choice: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d, hostile = _hostile_copy(template, tmp, "audit", kind, position, choice)
        before = snapshot(d.root)
        result = run_in_process(d.root, ["audit", "verify"], ENV)
        assert result.exit_code == 0 or result.stderr.count(str(hostile)) == 1
        refused = assert_refused_or_accepted(result, hostile=hostile, before=before, after=snapshot(d.root))
        CASES[f"audit-verify/{'invalid' if refused else 'valid'}"] += 1


@FUZZ
@given(st.sampled_from(MUTATIONS), st.integers(0, 10**7), st.integers(0, 10**4))
def test_history_actions_and_undo_on_a_hostile_journal(template: SweepDir, kind: str, position: int,
                                                       choice: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d, hostile = _hostile_copy(template, tmp, "journal", kind, position, choice)
        before = snapshot(d.root)
        for args in (["-o", "json", "history", "-n", "0"], ["--all-tenants", "history"]):
            # 6: the readable entries shown, an unreadable line reported by number (nothing written)
            assert_refused_or_accepted(run_in_process(d.root, args, ENV), hostile=hostile, before=before,
                                       after=snapshot(d.root), ok_codes=(0, 6))
            assert snapshot(d.root) == before
        old = hostile.read_bytes()
        parked = run_in_process(d.root, ["--all-tenants", "-o", "json", "dead-letters", "park", "dl-hot",
                                         "--reason", "fuzz"], ENV)
        assert parked.exit_code == 0, parked.stderr
        assert hostile.read_bytes().startswith(old)
        last = json.loads(hostile.read_bytes().splitlines()[-1])
        assert last["operation_id"] == parked.json()["data"]["operation_id"]
        make_idle(d.paths.reliability_file)  # (a store written a moment ago is verified for 0.25 s)
        seed_op = json.loads(template.paths.journal_file.read_bytes().splitlines()[-1])["operation_id"]
        undo = run_in_process(d.root, ["--all-tenants", "-o", "json", "undo", seed_op, "--yes"], ENV)
        assert undo.exit_code in (0, 3, 5, 6) and "Traceback" not in undo.stderr, undo.stderr
        assert "internal error" not in undo.stderr, undo.stderr
        CASES[f"journal/undo-exit-{undo.exit_code}"] += 1


TOML_VALUES = ["1", "-1", "1.5", "nan", "inf", "-inf", '"x"', '""', "[1, 2]", "{a = 1}", "true", '"\\u001b[31m"',
               "1979-05-27T07:32:00Z", '"../../etc"', '"local"', '"a/b/c/d"', "[" * 3000 + "]" * 3000]
TOML_KEYS = ["state_dir", "reliability_file", "journal_file", "tenant", "output", "actor", "lock_timeout",
             "engine_url", "unknown_key", "tandemctl"]


def _config_case(template: SweepDir, tmp: str, text: bytes, value: str = "") -> None:
    """A bad config is a usage error naming it (2); a path in it that is not a state file is refused
    like one (5), naming that path."""
    d, config = _hostile_copy(template, tmp, "config", "truncate", 10**9, 0)  # an unchanged copy
    config.write_bytes(text)
    before = snapshot(d.root)
    result = run_in_process(d.root, ["--config", str(config), "--all-tenants", "-o", "json", "dead-letters", "list"],
                            ENV)
    names = (config, value.strip('"')) if value.startswith('"') and len(value) > 2 else (config,)
    refused = assert_refused_or_accepted(result, hostile=names, before=before, after=snapshot(d.root),
                                         refusal_codes=(2, 5) if len(names) > 1 else (2,))
    CASES[f"config/{'refused' if refused else 'accepted'}"] += 1


@FUZZ
@given(st.sampled_from(["truncate", "junk", "bom", "bad_utf8"]), st.integers(0, 10**6), st.integers(0, 255))
def test_commands_with_a_corrupted_config_file(template: SweepDir, kind: str, position: int, choice: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _config_case(template, tmp, mutate_json_bytes((template.root / "config.toml").read_bytes(), kind, position,
                                                      choice))


MUST_REFUSE = {("lock_timeout", v) for v in ("-1", "nan", "inf", "-inf", '"x"')} | {
    ("tenant", v) for v in ('"x"', '""', '"local"', '"a/b/c/d"', "1")} | {
    ("engine_url", v) for v in ('"x"', '""', '"../../etc"', "1")} | {(k, "[" * 3000 + "]" * 3000) for k in TOML_KEYS}


def test_commands_with_every_hostile_config_value(template: SweepDir) -> None:
    refused_before = CASES["config/refused"]
    for key in TOML_KEYS:
        for value in TOML_VALUES:
            with tempfile.TemporaryDirectory() as tmp:
                before = CASES["config/refused"]
                _config_case(template, tmp, f"{key} = {value}\n".encode(), value)
                assert (key, value) not in MUST_REFUSE or CASES["config/refused"] == before + 1, (key, value[:20])
    assert CASES["config/refused"] - refused_before >= len(MUST_REFUSE)


def test_hostile_case_counts_are_reported() -> None:
    report("hostile files", cases=sum(CASES.values()), **dict(sorted(CASES.items())))
