"""Shell completion: the scripts in completions/ are exactly what the CLI generates (regenerated
here; TANDEMCTL_GOLDEN_UPDATE=1 rewrites them), and ids complete from the current state."""

import os
from pathlib import Path

import pytest
from typer.completion import get_completion_script
from typer.testing import CliRunner

from tandemctl.cli.app import app
from tests.conftest import StateDir
from tests.sweep_fixtures import RUN_ID, group_a_dead_letter, run_record
from tests.triage_state import STORE_KINDS, Triage, build_state

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = {"bash": "tandemctl.bash", "zsh": "_tandemctl", "fish": "tandemctl.fish"}


@pytest.mark.parametrize("shell", sorted(SCRIPTS))
def test_completion_scripts_do_not_drift(shell: str) -> None:
    # What `tandemctl --show-completion` prints in that shell (the installed command's name and variable).
    script = get_completion_script(prog_name="tandemctl", complete_var="_TANDEMCTL_COMPLETE", shell=shell)
    path = ROOT / "completions" / SCRIPTS[shell]
    if os.environ.get("TANDEMCTL_GOLDEN_UPDATE"):
        path.write_text(script + "\n")
    assert script + "\n" == path.read_text(), f"{path.name} drifted: rerun with TANDEMCTL_GOLDEN_UPDATE=1"


@pytest.fixture(params=STORE_KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def complete(state: StateDir, *words: str) -> list[str]:
    line = ["tandemctl", "--state-dir", str(state.root), *words]
    env = {"_TANDEMCTL_COMPLETE": "complete_bash", "COMP_WORDS": " ".join(line), "COMP_CWORD": str(len(line) - 1)}
    result = CliRunner().invoke(app, [], prog_name="tandemctl", env=env, catch_exceptions=False)
    return result.stdout.split()


def state_for_completion(kind: str, state: StateDir) -> None:
    build_state(kind, state.root, Triage(
        dead_letters=[group_a_dead_letter("dead-alpha"), group_a_dead_letter("dead-beta"),
                      group_a_dead_letter("other-gamma")], runs=[run_record()]))


def test_dead_letter_ids_complete_from_the_state(kind: str, state: StateDir) -> None:
    state_for_completion(kind, state)
    assert complete(state, "--all-tenants", "dead-letters", "show", "dead-") == ["dead-alpha", "dead-beta"]
    assert complete(state, "--all-tenants", "dead-letters", "retry", "oth") == ["other-gamma"]
    # Tenant scope applies: the default tenant sees none of these rows.
    assert complete(state, "dead-letters", "show", "dead-") == []


def test_run_and_operation_ids_complete(kind: str, state: StateDir) -> None:
    state_for_completion(kind, state)
    assert complete(state, "--all-tenants", "runs", "show", "automation-") == [RUN_ID]
    assert complete(state, "--all-tenants", "dead-letters", "list", "--run", "auto") == [RUN_ID]
    runner = CliRunner()
    done = runner.invoke(app, ["--state-dir", str(state.root), "--all-tenants", "dead-letters", "park", "dead-beta",
                               "--reason", "dup"], catch_exceptions=False)
    assert done.exit_code == 0
    [operation] = complete(state, "undo", "op-")
    assert operation.startswith("op-")


def test_completion_on_a_broken_state_offers_nothing(state: StateDir) -> None:
    state.reliability.write_text("{broken")
    assert complete(state, "--all-tenants", "dead-letters", "show", "") == []
