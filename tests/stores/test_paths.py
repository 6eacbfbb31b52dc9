"""State-dir resolution exactly like the server (spec 02 §1.1)."""

from pathlib import Path

import pytest

from tandemctl.stores.paths import resolve_data_dir, resolve_state_paths, validate_env_path


def test_valid_state_dir_gets_data_appended(tmp_path: Path) -> None:
    assert resolve_data_dir({"TANDEM_STATE_DIR": str(tmp_path)}) == (tmp_path.resolve() / "data", "TANDEM_STATE_DIR")


@pytest.mark.parametrize("name", ["data", "DATA", "Data"])
def test_state_dir_named_data_is_used_as_is(tmp_path: Path, name: str) -> None:
    target = tmp_path / name
    target.mkdir()
    assert resolve_data_dir({"TANDEM_STATE_DIR": str(target)})[0] == target.resolve()


def test_state_dir_is_trimmed_and_symlinks_resolved(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    assert resolve_data_dir({"TANDEM_STATE_DIR": f"  {tmp_path / 'link'}  "})[0] == real.resolve() / "data"


@pytest.mark.parametrize("value", ["relative/dir", "/does/not/exist", "/tmp/../tmp", "", "   "])
def test_invalid_values_fail_validation(value: str) -> None:
    assert validate_env_path(value) is None


@pytest.mark.parametrize("value", ["/etc", "/proc/self", "/dev", "/sys"])
def test_system_dirs_are_rejected(value: str) -> None:
    assert validate_env_path(value) is None


def test_rejected_state_dir_is_still_used_raw_under_home_rule() -> None:
    env = {"TANDEM_STATE_DIR": "relative/state"}
    assert resolve_data_dir(env) == (Path("relative/state/data"), "TANDEM_STATE_DIR (unvalidated)")


def test_tandem_home_wins_over_an_invalid_state_dir() -> None:
    env = {"TANDEM_STATE_DIR": "/does/not/exist", "TANDEM_HOME": " /srv/tandem "}
    assert resolve_data_dir(env) == (Path("/srv/tandem/data"), "TANDEM_HOME")


def test_valid_state_dir_wins_over_tandem_home(tmp_path: Path) -> None:
    env = {"TANDEM_STATE_DIR": str(tmp_path), "TANDEM_HOME": "/srv/tandem"}
    assert resolve_data_dir(env)[0] == tmp_path.resolve() / "data"


def test_os_data_dir_default(tmp_path: Path) -> None:
    assert resolve_data_dir({}, home=tmp_path)[0] == tmp_path / ".local" / "share" / "tandem" / "data"
    xdg = {"XDG_DATA_HOME": "/xdg"}
    assert resolve_data_dir(xdg, home=tmp_path)[0] == Path("/xdg/tandem/data")


def test_derived_paths_and_overrides(tmp_path: Path) -> None:
    paths = resolve_state_paths({}, state_dir=str(tmp_path))
    data = tmp_path.resolve() / "data"
    assert paths.source == "--state-dir"
    assert paths.reliability_file == data / "runtime" / "stateful_reliability.json"
    assert paths.runs_file == data / "automation_v2_runs.json"
    assert paths.shard_root == data / "automation-runs" / "automation_v2_runs"
    assert paths.audit_file == data / "audit" / "protected_events.log.jsonl"
    assert paths.engine_lock_file == data / "stateful_runtime.engine.lock"
    assert paths.journal_file == data / "runtime" / "tandemctl-journal.jsonl"
    custom = resolve_state_paths({}, state_dir=str(tmp_path), reliability_file="/x/store.json")
    assert custom.reliability_file == Path("/x/store.json")
    assert custom.journal_file == Path("/x/tandemctl-journal.jsonl")


def test_state_dir_flag_acts_as_env_var(tmp_path: Path) -> None:
    env = {"TANDEM_STATE_DIR": "/somewhere/else"}
    assert resolve_state_paths(env, state_dir=str(tmp_path)).data_dir == tmp_path.resolve() / "data"
