"""Limits: the memory budget (measured peak factor; files beyond it refused before they are read, for
the store, the runs file and through the sweep), a real full disk under the sweep and under actions,
and a read-only data dir. Full-disk and read-only tests mount a tmpfs (root only; skipped otherwise)."""

import contextlib
import errno
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.generate import generate_state
from tandemctl.fs import limits
from tests.reliability_helpers import (
    assert_files_valid,
    assert_one_line_error,
    child_env,
    intent_files,
    make_idle,
    report,
    run_in_process,
    snapshot,
    temp_files,
)
from tests.sweep_fixtures import NOW, SweepDir, group_a_dead_letter, run_record

ENV = {"TANDEMCTL_NOW_MS": str(NOW)}
SWEEP = ["sweep", "--once"]
PARK = ["--all-tenants", "dead-letters", "park", "dead-review-effect", "--reason", "x"]


# The child reports its own peak: ru_maxrss survives execve, so a child of the (large) pytest process
# would report pytest's size; VmHWM belongs to the address space the command itself built.
PEAK_LAUNCHER = r"""
import atexit, sys
def report(path=sys.argv[1]):
    hwm = [line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")][0]
    open(path, "w").write(hwm)
atexit.register(report)
sys.argv = ["tandemctl", *sys.argv[2:]]
from tandemctl.cli.app import main
main()
"""


def _peak_kib(root: Path, args: list[str], env: dict[str, str] | None = None) -> tuple[int, int, str]:
    """Run tandemctl as a real process; (its peak RSS in KiB, exit code, stderr)."""
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc to read a process's peak memory")
    with tempfile.TemporaryDirectory() as tmp:
        peak_file = Path(tmp) / "peak"
        done = subprocess.run([sys.executable, "-c", PEAK_LAUNCHER, str(peak_file), "--state-dir", str(root), *args],
                              env=child_env(env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              timeout=300, check=False)
        return int(peak_file.read_text()), done.returncode, done.stderr


@pytest.mark.slow
def test_peak_memory_of_a_load_is_within_the_factor_the_limit_assumes(tmp_path: Path) -> None:
    root = tmp_path / "g10k"
    generate_state(root, dead_letters=10_000, seed=7, now_ms=1_795_737_600_000)
    (tmp_path / "empty" / "data").mkdir(parents=True)
    baseline, code, _ = _peak_kib(tmp_path / "empty", ["--all-tenants", "dead-letters", "list"])
    assert code == 0
    store = root / "data" / "runtime" / "stateful_reliability.json"
    runs = root / "data" / "automation_v2_runs.json"
    peak, code, _ = _peak_kib(root, ["--all-tenants", "dead-letters", "list"])
    assert code == 0
    factor = (peak - baseline) * 1024 / store.stat().st_size
    sweep_peak, code, err = _peak_kib(root, ["sweep", "--once"], {"TANDEMCTL_NOW_MS": "1795737600000"})
    assert code == 0, err
    sweep_factor = (sweep_peak - baseline) * 1024 / (store.stat().st_size + runs.stat().st_size)
    assert factor <= limits.MEMORY_FACTOR and sweep_factor <= limits.MEMORY_FACTOR
    limit, why = limits.state_file_limit()
    report("limits: memory", store_mib=round(store.stat().st_size / 2**20, 1), baseline_mib=round(baseline / 1024),
           list_peak_mib=round(peak / 1024), list_factor=round(factor, 2), sweep_peak_mib=round(sweep_peak / 1024),
           sweep_factor=round(sweep_factor, 2), limit_here_mib=round((limit or 0) / 2**20), limit_from=why,
           largest_store_on_24_gib_gib=round(24 / limits.MEMORY_FACTOR, 1))


def _state(tmp_path: Path, *, runs_padding: int = 0, store_padding: int = 0) -> SweepDir:
    d = SweepDir(tmp_path / "state")
    d.write_runs([run_record(), *([run_record("run-big", runtime_context={"blob": "r" * runs_padding})]
                                  if runs_padding else [])])
    d.write_dead_letters([group_a_dead_letter(), *([group_a_dead_letter("dl-big", reason="s" * store_padding,
                                                                         updated=1)] if store_padding else [])])
    make_idle(d.paths.reliability_file)
    return d


def test_a_store_beyond_the_budget_is_refused_before_it_is_read(tmp_path: Path) -> None:
    d = _state(tmp_path)
    limit, _ = limits.state_file_limit()
    assert limit is not None
    with d.paths.reliability_file.open("r+b") as handle:
        handle.truncate(2 * limit)  # sparse: nothing on disk. Twice the limit: MemAvailable moves a little
    stat = d.paths.reliability_file.stat()
    baseline, _, _ = _peak_kib(d.root, ["--version"])  # start-up only
    for args in (["--all-tenants", "dead-letters", "list"], PARK, SWEEP):
        peak, code, err = _peak_kib(d.root, args, ENV)
        assert code == 5 and err.count("\n") == 1 and str(d.paths.reliability_file) in err, err
        assert "more than tandemctl can load safely" in err and peak < baseline + 100 * 1024, (peak, err)
    assert d.paths.reliability_file.stat().st_mtime_ns == stat.st_mtime_ns


def test_the_limit_applies_to_the_runs_file_and_to_what_the_sweep_loads_together(tmp_path: Path) -> None:
    env = {**ENV, "TANDEMCTL_MAX_STATE_MB": "1"}
    d = _state(tmp_path / "runs", runs_padding=1_200_000)
    before = snapshot(d.root)
    line = assert_one_line_error(run_in_process(d.root, SWEEP, env), names=d.paths.runs_file)
    assert "TANDEMCTL_MAX_STATE_MB=1" in line and snapshot(d.root) == before
    assert run_in_process(d.root, ["--all-tenants", "dead-letters", "list"], env).exit_code == 0  # store is small
    both = _state(tmp_path / "both", runs_padding=600_000, store_padding=600_000)  # each alone fits
    before = snapshot(both.root)
    line = assert_one_line_error(run_in_process(both.root, SWEEP, env), names=both.paths.runs_file)
    assert str(both.paths.reliability_file) in line and "together" in line and snapshot(both.root) == before
    assert run_in_process(both.root, PARK, env).exit_code == 0  # an action loads only the store


def test_the_budget_boundary_is_exact(tmp_path: Path) -> None:
    d = _state(tmp_path)
    data = d.paths.reliability_file.read_bytes()
    for size, code in ((2**20, 0), (2**20 + 1, 5)):
        d.paths.reliability_file.write_bytes(data[:-1] + b" " * (size - len(data)) + data[-1:])
        result = run_in_process(d.root, ["--all-tenants", "dead-letters", "list"], {"TANDEMCTL_MAX_STATE_MB": "1"})
        assert result.exit_code == code, (size, result.stderr)


def test_a_history_shard_beyond_the_budget_is_refused_not_reported_missing(tmp_path: Path) -> None:
    d = SweepDir(tmp_path / "state")
    d.write_runs([run_record("run-small")])
    shard = d.write_shard(run_record("run-big", runtime_context={"blob": "x" * 1_500_000}))
    d.write_dead_letters([group_a_dead_letter("dl-big", run_id="run-big")])
    assert_one_line_error(run_in_process(d.root, SWEEP, {**ENV, "TANDEMCTL_MAX_STATE_MB": "1"}), names=shard)


# --- a real full disk, a read-only file system ------------------------------------------------------------

@contextlib.contextmanager
def _tmpfs(mount: Path, size: str) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount.mkdir(parents=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def _fill(disk: Path, leave: int) -> Path:
    """Fill the file system, then give back `leave` bytes."""
    filler = disk / "filler"
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    os.truncate(filler, max(filler.stat().st_size - leave, 0))
    return filler


def _copy_to(disk: Path, d: SweepDir) -> SweepDir:
    target = SweepDir(disk / "state")
    shutil.copytree(d.root, target.root)
    make_idle(target.paths.reliability_file)
    return target


def test_a_full_disk_under_the_sweep(tmp_path: Path) -> None:
    source = _state(tmp_path, runs_padding=400_000)
    with _tmpfs(tmp_path / "full", "2m") as disk:
        d = _copy_to(disk, source)
        _fill(disk, 0)  # (a) no room even for the intent: nothing at all is written
        before = snapshot(d.root)
        line = assert_one_line_error(run_in_process(d.root, SWEEP, ENV), names=d.paths.runtime_dir, codes=(1,))
        assert "No space left on device" in line and snapshot(d.root) == before and temp_files(disk) == []
    with _tmpfs(tmp_path / "partial", "2m") as disk:
        d = _copy_to(disk, source)
        filler = _fill(disk, 64 * 1024)  # (b) room for the intent and the shard, not the runs file
        before = snapshot(d.root)
        line = assert_one_line_error(run_in_process(d.root, SWEEP, ENV), names=d.paths.runs_file, codes=(1,))
        assert "No space left on device" in line and "keeps its intent" in line, line
        after = snapshot(d.root)
        unchanged = ("automation_v2_runs.json", "stateful_reliability.json", "protected_events")
        assert all(after[k] == v for k, v in before.items() if k.endswith(unchanged))
        assert temp_files(disk) == [] and len(intent_files(d.root)) == 1
        assert_files_valid(d.paths)
        filler.unlink()
        again = run_in_process(d.root, SWEEP, ENV)
        assert again.exit_code == 0 and "finished an interrupted sweep first: 1 run(s) requeued" in again.stderr
        assert_requeued_once_here(d)


def assert_requeued_once_here(d: SweepDir) -> None:
    history = d.run()["checkpoint"]["lifecycle_history"]
    events = [e for e in history if e["event"] == "stateful_dead_letter_retry_requeued"]
    assert len(events) == 1 and len(d.audit()) == 1 and d.dead_letters()["dead-review-effect"]["status"] == "retrying"
    assert intent_files(d.root) == [] and temp_files(d.root) == []


def test_a_full_disk_under_an_action_changes_nothing(tmp_path: Path) -> None:
    source = _state(tmp_path, store_padding=400_000)
    for leave, names in ((0, "stateful_reliability.json.tandemctl.intent"), (64 * 1024, "stateful_reliability.json")):
        with _tmpfs(tmp_path / f"leave-{leave}", "2m") as disk:
            d = _copy_to(disk, source)
            _fill(disk, leave)  # no room for the intent; then room for it but not for the store
            before = snapshot(d.root)
            line = assert_one_line_error(run_in_process(d.root, PARK, ENV), names=names, codes=(1,))
            assert "No space left on device" in line
            assert snapshot(d.root) == before and temp_files(disk) == [] and intent_files(disk) == []


def test_a_read_only_data_dir_can_be_read_but_nothing_is_written(tmp_path: Path) -> None:
    source = _state(tmp_path)
    with _tmpfs(tmp_path / "ro", "2m") as disk:
        d = _copy_to(disk, source)
        assert run_in_process(d.root, PARK, ENV).exit_code == 0  # a journal line and the lock files exist
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        before = snapshot(d.root)
        for args, names in ((PARK, d.paths.reliability_file), (SWEEP, d.paths.runs_file)):
            line = assert_one_line_error(run_in_process(d.root, args, ENV), names=names, codes=(1,))
            assert "Read-only file system" in line
        for args in (["--all-tenants", "dead-letters", "list"], ["--all-tenants", "history"]):
            assert run_in_process(d.root, args, ENV).exit_code == 0
        assert run_in_process(d.root, ["audit", "verify"], ENV).exit_code == 3  # read fine: there is no ledger
        assert snapshot(d.root) == before
