"""Mistakes never look like success: filter typos, missing state, global options after the
command, usage errors in JSON, untruncated pipes, readable 80-column tables, quiet cron sweeps."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import NOW_MS, StateDir
from tests.factories import dead_letter, tenant, write_store

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "state" / "data"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def sample(state: StateDir) -> StateDir:
    shutil.rmtree(state.data)
    shutil.copytree(SAMPLE, state.data)
    return state


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


# --- 1: filter values are validated -------------------------------------------------------------

@pytest.mark.parametrize("args", [("--status", "opn"), ("--source-type", "effekt"), ("--status", "open,retryin")])
def test_unknown_filter_value_is_a_usage_error_listing_the_valid_ones(tandemctl, sample: StateDir,
                                                                       args: tuple[str, str]) -> None:
    result = tandemctl("--all-tenants", "dead-letters", "list", *args)
    assert result.exit_code == 2 and result.stdout == ""
    assert "valid:" in result.stderr and ("retry_requested" in result.stderr or "tool_effect" in result.stderr)


def test_unknown_status_in_a_bulk_action_changes_nothing(tandemctl, sample: StateDir) -> None:
    before = sample.reliability.read_bytes()
    result = tandemctl("--all-tenants", "dead-letters", "park", "--status", "opn", "--reason", "x", "--yes")
    assert result.exit_code == 2 and "unknown status 'opn'" in result.stderr
    assert sample.reliability.read_bytes() == before


def test_comma_lists_aliases_and_all(tandemctl, sample: StateDir) -> None:
    def ids(*args: str) -> set[str]:
        body = tandemctl("--all-tenants", "-o", "json", "dead-letters", "list", "--limit", "0", *args).json()
        return {row["dead_letter_id"] for row in body["data"]}

    assert ids("--status", "open,retrying") == ids("--status", "open", "--status", "retrying") != set()
    assert ids("--source-type", "effect") == ids("--source-type", "tool_effect") != set()
    assert ids("--source-type", "wait") == ids("--source-type", "stateful_wait") != set()
    assert ids("--status", "all") == ids()


# --- 2: a missing state is an error, never an empty store ---------------------------------------

@pytest.mark.parametrize("command", [("dead-letters", "list"), ("sweep", "--once"), ("audit", "verify"),
                                     ("history",), ("dead-letters", "retry", "x", "--reason", "r")])
def test_missing_data_dir_is_exit_3_naming_the_path_and_creates_nothing(tandemctl, tmp_path: Path,
                                                                        command: tuple[str, ...]) -> None:
    typo = tmp_path / "typo"
    result = tandemctl("--state-dir", str(typo), "-o", "json", *command, env={"TANDEM_ENGINE_PORT": "9"})
    assert result.exit_code == 3, result.stderr
    assert str(typo) in result.stderr and "--state-dir" in result.stderr
    assert result.json()["errors"][0]["code"] == "state_not_found"
    assert not typo.exists()


def test_unset_state_dir_resolving_to_a_missing_dir_is_an_error(tmp_path: Path) -> None:
    env = {**os.environ, "TANDEM_HOME": str(tmp_path / "nowhere"), "TANDEMCTL_NOW_MS": str(NOW_MS)}
    env.pop("TANDEM_STATE_DIR", None)
    out = subprocess.run([sys.executable, "-m", "tandemctl", "dead-letters", "list"], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 3 and "TANDEM_HOME" in out.stderr and str(tmp_path / "nowhere") in out.stderr
    assert not (tmp_path / "nowhere").exists()


def test_fresh_install_says_so_and_a_sweep_creates_nothing(tandemctl, state: StateDir) -> None:
    shutil.rmtree(state.data / "runtime")
    listed = tandemctl("dead-letters", "list")
    assert listed.exit_code == 0 and "fresh install" in listed.stderr
    before = _tree(state.root)
    swept = tandemctl("sweep", "--once", env={"TANDEM_ENGINE_PORT": "9"})
    assert swept.exit_code == 0, swept.stderr
    assert _tree(state.root) == before  # no runtime/, no lock files


def test_audit_verify_without_a_ledger_is_not_a_valid_chain(tandemctl, sample: StateDir) -> None:
    result = tandemctl("-o", "json", "audit", "verify")
    assert result.exit_code == 3 and "no ledger at" in result.stderr and "valid" not in result.stderr
    assert result.json()["errors"][0]["code"] == "no_ledger"


# --- 4 and 5: global options after the command; usage errors honour -o json --------------------

def test_global_options_after_the_command_name(tandemctl, state: StateDir) -> None:
    write_store(state.reliability, [dead_letter("dead-a", tenant_context=tenant("org-a", "ws-a"))])
    for argv in (("dead-letters", "list", "--all-tenants", "-o", "json"),
                 ("dead-letters", "--all-tenants", "list", "--output=json"),
                 ("-o", "json", "dead-letters", "list", "--tenant", "org-a/ws-a")):
        result = tandemctl(*argv)
        assert result.exit_code == 0, (argv, result.stderr)
        assert [r["dead_letter_id"] for r in result.json()["data"]] == ["dead-a"]


def test_a_commands_own_option_wins_over_the_global_one(tandemctl, state: StateDir) -> None:
    write_store(state.reliability, [dead_letter("dead-a")])
    result = tandemctl("dead-letters", "park", "dead-a", "--reason", "-o", "-o", "json")
    assert result.exit_code == 0 and result.json()["data"]["changed"][0]["dead_letter_id"] == "dead-a"
    assert '"disposition_reason": "-o"' in state.reliability.read_text()


def test_options_after_double_dash_are_not_moved(tandemctl, state: StateDir) -> None:
    write_store(state.reliability, [dead_letter("dead-a")])
    result = tandemctl("dead-letters", "retry", "--reason", "r", "--", "--all-tenants")
    assert result.exit_code == 3 and "--all-tenants" in result.stderr  # an id, not found


def test_usage_errors_honour_json_output(tandemctl, state: StateDir) -> None:
    for argv in (("-o", "json", "dead-letters", "list", "--bogus"), ("dead-letters", "list", "-o", "json", "--limit",
                                                                    "many"), ("-o", "json", "nosuch")):
        result = tandemctl(*argv)
        assert result.exit_code == 2, argv
        body = result.json()
        assert body["ok"] is False and body["exit_code"] == 2 and body["errors"][0]["code"] == "usage"
        assert "Traceback" not in result.stderr and result.stderr.startswith("error: ")
    assert tandemctl("-o", "json", "dead-letters", "list", "--bogus").json()["command"] == "dead-letters list"


# --- 6 and 7: pipes see whole values; 80-column tables never split ids --------------------------

def test_piped_tables_are_never_truncated(tandemctl, state: StateDir) -> None:
    long_tenant = tenant("globex-international-holdings", "billing-and-invoicing", "eu-west-1")
    write_store(state.reliability, [dead_letter("dead-a", tenant_context=long_tenant, reason="r" * 300)])
    result = tandemctl("--all-tenants", "dead-letters", "list", env={"COLUMNS": "80"})
    assert "globex-international-holdings/billing-and-invoicing/eu-west-1" in result.stdout
    assert "r" * 300 in result.stdout and "…" not in result.stdout
    assert all(line == line.rstrip() for line in result.stdout.splitlines())


def test_dry_run_detail_goes_under_the_row_at_80_columns(tandemctl, sample: StateDir) -> None:
    result = tandemctl("--all-tenants", "dead-letters", "retry", "--status", "ignored", "--reason", "r",
                       "--dry-run", env={"COLUMNS": "80", "TTY_COMPATIBLE": "1"})
    lines = ANSI.sub("", result.stdout).splitlines()
    assert result.exit_code == 0 and all(len(line) <= 80 for line in lines)
    assert "dead-letter-effect-680167b7766f2f77" in result.stdout
    detail = [line for line in lines if line.startswith("    ")]
    assert detail and "-retry_dispatch_count(5)" in " ".join(detail)
    assert len(lines) < 12  # not 25 lines of fragments


def test_sweep_table_never_splits_run_ids_at_80_columns(tandemctl, sample: StateDir) -> None:
    result = tandemctl("sweep", "--once", "--dry-run", env={"COLUMNS": "80", "TTY_COMPATIBLE": "1"})
    text = ANSI.sub("", result.stdout)
    assert all(len(line) <= 80 for line in text.splitlines())
    run_ids = re.findall(r"automation-v2-run-[0-9a-f-]*", text)
    assert run_ids and all(len(run_id) == len("automation-v2-run-") + 36 for run_id in run_ids)


# --- 11, 13: quiet cron sweeps; interval minimum and loop timestamps ----------------------------

def test_quiet_sweep_that_did_nothing_prints_nothing(tandemctl, sample: StateDir) -> None:
    env = {"TANDEM_ENGINE_PORT": "9"}
    assert tandemctl("-q", "sweep", "--once", env=env).stdout != ""  # it acted: the table shows what
    again = tandemctl("-q", "sweep", "--once", "--skip-if-engine-live", env=env)
    assert again.exit_code == 0 and again.stdout == "" and again.stderr == ""


@pytest.mark.parametrize("interval", ["0s", "0", "10ms"])
def test_interval_has_a_minimum(tandemctl, sample: StateDir, interval: str) -> None:
    result = tandemctl("sweep", "--interval", interval)
    assert result.exit_code == 2 and "minimum is 100ms" in result.stderr


def test_loop_lines_carry_a_timestamp(sample: StateDir) -> None:
    env = {**os.environ, "TANDEMCTL_NOW_MS": str(NOW_MS), "NO_COLOR": "1", "TANDEM_ENGINE_PORT": "9"}
    proc = subprocess.Popen([sys.executable, "-m", "tandemctl", "--state-dir", str(sample.root), "sweep",
                             "--interval", "100ms"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stderr is not None
    first = proc.stderr.readline()
    proc.terminate()
    proc.communicate(timeout=20)
    assert re.match(r"\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] acted on ", first), first


# --- 14, 15: help details; machine pages say when more rows remain ------------------------------

def test_short_help_metavars_and_exit_code_footers(tandemctl) -> None:
    for argv in (("-h",), ("dead-letters", "list", "-h"), ("sweep", "-h"), ("audit", "verify", "-h"), ("audit", "-h")):
        result = tandemctl(*argv)
        assert result.exit_code == 0 and "Usage:" in result.stdout, argv
        if argv[0] in ("sweep", "audit"):
            assert "Exit codes: 0 ok" in " ".join(result.stdout.split()), argv
    listing = tandemctl("dead-letters", "list", "--help").stdout
    assert "--status STATUS" in listing and "<list[str]>" not in listing
    assert "undo [OPTIONS] OPERATION_ID" in tandemctl("undo", "--help").stdout


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_machine_pages_say_on_stderr_when_more_remain(tandemctl, sample: StateDir, fmt: str) -> None:
    result = tandemctl("--all-tenants", "-o", fmt, "dead-letters", "list", "--limit", "2")
    assert result.exit_code == 0 and "more remain: --after-id dead-letter-" in result.stderr
    everything = tandemctl("--all-tenants", "-o", fmt, "dead-letters", "list", "--limit", "0")
    assert "more remain" not in everything.stderr
