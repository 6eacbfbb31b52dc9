"""The crontab lines of the README's "Running from cron", run as real shell commands against a
temporary state (paths rewritten), with and without a live engine (a held engine lock)."""

import fcntl
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import NOW_MS, StateDir
from tests.factories import dead_letter
from tests.sweep_fixtures import group_a_dead_letter, run_record
from tests.triage_state import Triage, build_state

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def cron_lines() -> list[str]:
    section = README.split("## Running from cron", 1)[1].split("```crontab", 1)[1].split("```", 1)[0]
    return [line for line in section.splitlines() if line.strip() and not line.startswith("#")]


def command_of(line: str) -> str:
    """The shell command of a crontab line (after the five time fields)."""
    return re.split(r"\s+", line.strip(), maxsplit=5)[5]


@pytest.fixture
def cron_env(state: StateDir, tmp_path: Path) -> tuple[dict[str, str], dict[str, Path]]:
    build_state("json", state.root, Triage(
        dead_letters=[{**group_a_dead_letter(), "created_at_ms": NOW_MS - 60_000},
                      dead_letter("dead-open", status="open", created=NOW_MS - 60_000)],
        runs=[run_record()]))
    dirs = {name: tmp_path / name for name in ("textfile", "log")}
    for path in dirs.values():
        path.mkdir()
    env = {**os.environ, "TANDEMCTL_NOW_MS": str(NOW_MS), "TANDEM_ENGINE_URL": "http://127.0.0.1:9",
           "PYTHONPATH": str(ROOT)}
    return env, {"state": state.root, **dirs}


def run_line(line: str, env: dict[str, str], paths: dict[str, Path]) -> int:
    command = (command_of(line).replace("/srv/tandem", str(paths["state"]))
               .replace("/var/lib/node_exporter/textfile", str(paths["textfile"]))
               .replace("/var/log/tandemctl", str(paths["log"]))
               .replace("tandemctl ", f"{sys.executable} -m tandemctl "))
    return subprocess.run(["sh", "-c", command], env=env, cwd=ROOT, timeout=60, check=False).returncode


def test_the_readme_has_the_four_lines() -> None:
    lines = cron_lines()
    assert len(lines) == 4
    assert [command_of(line).split()[2:4] for line in lines] == [
        ["sweep", "--once"], ["-q", "--all-tenants"], ["--all-tenants", "check"],
        ["doctor", ">>/var/log/tandemctl/doctor.log"]]


def test_every_line_runs(cron_env: tuple[dict[str, str], dict[str, Path]]) -> None:
    env, paths = cron_env
    sweep, metrics, check, doctor = cron_lines()
    assert run_line(sweep, env, paths) == 0
    prom = (paths["textfile"] / "tandemctl_sweep.prom").read_text()
    names = {s.name: s.value for f in text_string_to_metric_families(prom) for s in f.samples if not s.labels}
    assert names["tandemctl_sweep_runs_requeued"] == 1
    assert run_line(metrics, env, paths) == 0
    assert "tandemctl_dead_letters" in (paths["textfile"] / "tandemctl.prom").read_text()
    assert run_line(check, env, paths) == 0  # the OK path: the `||` branch is not taken
    assert (paths["log"] / "check.last").read_text().startswith("TANDEMCTL OK - ")
    assert run_line(doctor, env, paths) == 0
    assert "doctor: healthy (exit 0)" in (paths["log"] / "doctor.log").read_text()


def test_while_an_engine_is_live(cron_env: tuple[dict[str, str], dict[str, Path]]) -> None:
    env, paths = cron_env
    sweep, metrics, _, _ = cron_lines()
    lock = paths["state"] / "data" / "stateful_runtime.engine.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        assert run_line(sweep, env, paths) == 0
        assert run_line(metrics, env, paths) == 0
    finally:
        os.close(fd)
    assert "engine live, sweep skipped" in (paths["log"] / "sweep.log").read_text()
    prom = (paths["textfile"] / "tandemctl_sweep.prom").read_text()
    names = {s.name: s.value for f in text_string_to_metric_families(prom) for s in f.samples if not s.labels}
    assert names["tandemctl_sweep_skipped_engine_live"] == 1
