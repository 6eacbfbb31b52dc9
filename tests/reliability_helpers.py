"""Helpers for the crash, concurrency, hostile-input and limit tests: real `python -m tandemctl`
processes, strict checks of every state file, snapshots, and the counts the tests print for
docs/reliability.md."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tandemctl.cli.app import app
from tandemctl.engine.audit_chain import build_protected_event
from tandemctl.engine.definitions import definition_hash
from tandemctl.engine.jsonio import parse_strict
from tandemctl.engine.run_store import parse_runs_file
from tandemctl.fs import locks, temps
from tandemctl.stores.audit_ledger import verify_audit_ledger
from tandemctl.stores.json_codec import parse_reliability
from tandemctl.stores.json_runs import read_shard
from tandemctl.stores.paths import StatePaths
from tests.conftest import NOW_MS
from tests.sweep_fixtures import NOW, SweepDir, definition, group_a_dead_letter, run_record

LOCK_SUFFIX = locks.LOCK_SUFFIX
TEMP_MARK = temps.TEMP_MARK
INTENT_SUFFIX = ".tandemctl.intent"
SWEEP_INTENT = "tandemctl-sweep.intent.json"


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def state_paths(root: Path) -> StatePaths:
    """The paths of a `--state-dir root` (data dir `root/data`), as tandemctl resolves them."""
    data = root / "data"
    return StatePaths(data_dir=data, source="test", reliability_file=data / "runtime" / "stateful_reliability.json",
                      journal_file=data / "runtime" / "tandemctl-journal.jsonl")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# Pinned clock, no config file, no engine: the same for every child, whatever fixture ran first.
BASE_ENV = {"NO_COLOR": "1", "COLUMNS": "200", "USER": "ops-tester", "TANDEMCTL_NOW_MS": str(NOW_MS),
            "XDG_CONFIG_HOME": "/nonexistent/tandemctl-tests", "XDG_DATA_HOME": "/nonexistent/tandemctl-tests",
            "TANDEM_ENGINE_PORT": str(_closed_port())}


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A deterministic environment for a child: BASE_ENV plus `extra`, no inherited TANDEM* vars."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TANDEMCTL_", "TANDEM_"))}
    env.update(BASE_ENV)
    env.update(extra or {})
    return env


def cli_argv(root: Path, args: Iterable[str]) -> list[str]:
    return [sys.executable, "-m", "tandemctl", "--state-dir", str(root), *args]


def run_process(root: Path, args: Iterable[str], env: Mapping[str, str] | None = None,
                timeout: float = 120) -> Run:
    """Run tandemctl as a real process and wait for it."""
    done = subprocess.run(cli_argv(root, args), env=child_env(env), capture_output=True, text=True,
                          timeout=timeout, check=False)
    return Run(done.returncode, done.stdout, done.stderr)


def spawn(root: Path, args: Iterable[str], env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(cli_argv(root, args), env=child_env(env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def random_kill(root: Path, args: list[str], log: Path, delay: float, *, anchored: bool,
                env: dict[str, str] | None = None) -> int:
    """SIGKILL a real tandemctl `delay` s after its start (or after its first durable step when
    `anchored`); returns how many durable steps it had taken."""
    proc = spawn(root, args, {**(env or {}), "TANDEMCTL_FAULT_LOG": str(log)})
    if anchored:
        while proc.poll() is None and not log.exists():
            time.sleep(0.0002)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    return len(log.read_text().splitlines()) if log.exists() else 0


def run_in_process(root: Path, args: Iterable[str], env: Mapping[str, str] | None = None) -> Run:
    """The same command in this process (fast: no interpreter start-up)."""
    result = CliRunner().invoke(app, ["--state-dir", str(root), *args], env={**BASE_ENV, **(env or {})},
                                catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


def lock_config(directory: Path, seconds: float) -> dict[str, str]:
    """An env that points tandemctl at a config file with a short lock timeout."""
    path = directory / f"lock-{seconds:g}.toml"
    path.write_text(f"lock_timeout = {seconds}\n", encoding="utf-8")
    return {"TANDEMCTL_CONFIG": str(path)}


def make_idle(path: Path) -> None:
    """Age a state file by a minute: an engine-written store that no live engine is touching."""
    stamp = time.time_ns() - 60_000_000_000
    os.utime(path, ns=(stamp, stamp))


def snapshot(root: Path, *, include_temps: bool = True) -> dict[str, bytes]:
    """Every file under `root` (lock files excluded: they are never deleted, and never state)."""
    out: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file() or path.name.endswith(LOCK_SUFFIX):
            continue
        if not include_temps and path.name.endswith(TEMP_MARK):
            continue
        out[str(path.relative_to(root))] = path.read_bytes()
    return out


def temp_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob(f"*{TEMP_MARK}"))


def intent_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.name.endswith(INTENT_SUFFIX) or p.name == SWEEP_INTENT)


def journal_without_ids(data: bytes) -> list[dict[str, Any]]:
    """Journal lines without what differs between equivalent runs (random operation ids, argv, the
    mark of a roll-forward): a sweep finished by another process journals the same change."""
    return [{k: v for k, v in json.loads(line).items() if k not in ("operation_id", "argv", "recovered")}
            for line in data.splitlines() if line.strip()]


def journal_entries(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def assert_files_valid(paths: StatePaths) -> None:
    """Every state file parses with the engine's strictness (tandemctl's own strict loaders)."""
    store = paths.reliability_file
    if store.exists():
        parse_reliability(store.read_bytes(), store)
    if paths.runs_file.exists():
        parse_runs_file(paths.runs_file.read_bytes(), paths.runs_file)
    if paths.shard_root.exists():
        for shard in paths.shard_root.rglob("*.json"):
            assert read_shard(shard) is not None, shard
    if paths.audit_file.exists():
        verification = verify_audit_ledger(paths.audit_file)
        assert verification.valid, verification
    for line in (paths.journal_file.read_bytes().splitlines() if paths.journal_file.exists() else []):
        assert isinstance(json.loads(line), dict), line
    for intent in intent_files(paths.data_dir):
        parse_strict(intent.read_bytes(), intent)


def assert_one_line_error(run: Run, *, names: Path | str | tuple[Path | str, ...], codes: Iterable[int] = (5,)) -> str:
    """A refusal: a documented exit code, exactly one stderr line naming the file (one of `names`),
    no traceback."""
    assert run.exit_code in tuple(codes), (run.exit_code, run.stderr)
    assert "Traceback" not in run.stderr and "Traceback" not in run.stdout, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: "), lines[0]
    alternatives = names if isinstance(names, tuple) else (names,)
    assert any(str(name) in lines[0] for name in alternatives), (alternatives, lines[0])
    return lines[0]


def report(title: str, **counts: object) -> None:
    """Print one line of counts (`pytest -s` shows them; docs/reliability.md quotes them)."""
    print(f"\n[reliability] {title}: " + ", ".join(f"{key}={value}" for key, value in counts.items()))


# --- hostile input ------------------------------------------------------------------------------

def _deep(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"k": value}
    return value


# Values that are wrong somewhere (or everywhere) in a typed engine record.
HOSTILE_VALUES: list[Any] = [None, -1, 1.5, 1e300, 2**64, 2**64 - 1, "", "x" * 200_000, [], {}, True, "Open",
                             "retry-requested", "\x1b[31m\x07", "../../../../etc/passwd", "a/b\\c\x00d", [None],
                             {"unexpected": []}, _deep(200), _deep(20)]
MUTATIONS = ("truncate", "junk", "bom", "bad_utf8", "set", "delete", "duplicate_key", "append_garbage")


def json_paths(value: Any, prefix: tuple[Any, ...] = (), limit: int = 4000) -> list[tuple[Any, ...]]:
    """Every node of a JSON document as a path of keys/indices (the root excluded), depth first."""
    out: list[tuple[Any, ...]] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [(prefix, value)]
    while stack and len(out) < limit:
        path, node = stack.pop()
        children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in children:
            out.append((*path, key))
            stack.append(((*path, key), child))
    return out


def _set(doc: Any, path: tuple[Any, ...], value: Any, *, delete: bool = False) -> None:
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value


def mutate_json_bytes(data: bytes, kind: str, position: int, choice: int, *, jsonl: bool = False) -> bytes:
    """One hostile change to a JSON (or, with `jsonl`, one line of a JSONL) file's bytes;
    `position`/`choice` pick where and what."""
    if kind == "truncate":
        return data[: position % max(len(data), 1)]
    if kind == "junk":
        at = position % max(len(data), 1)
        return data[:at] + bytes([choice % 256]) + data[at + 1:]
    if kind == "bom":
        return b"\xef\xbb\xbf" + data
    if kind == "bad_utf8":
        at = position % max(len(data), 1)
        return data[:at] + b"\xc3\x28\xff" + data[at:]
    if kind == "append_garbage":
        return data + b"\n}{garbage"
    if kind == "duplicate_key":
        at = data.find(b'"', position % max(len(data), 1))
        end = data.find(b'":', at + 1) if at != -1 else -1
        if at == -1 or end == -1:
            return data + b'{"a": 1, "a": 2}'
        key = data[at:end + 2]
        return data[:at] + key + b" 1, " + data[at:]
    lines = data.split(b"\n") if jsonl else [data]
    index = position % len(lines)
    try:
        doc = json.loads(lines[index])
    except ValueError:
        return data + b"\n"
    paths = json_paths(doc)
    if not paths:
        return data
    path = paths[(position // len(lines)) % len(paths)]
    _set(doc, path, HOSTILE_VALUES[choice % len(HOSTILE_VALUES)], delete=kind == "delete" and
         not isinstance(path[-1], int))
    lines[index] = json.dumps(doc, ensure_ascii=False, indent=None if jsonl else 2).encode(
        "utf-8", "surrogatepass")
    return b"\n".join(lines)


def assert_refused_or_accepted(run: Run, *, hostile: Path | tuple[Path | str, ...], before: dict[str, bytes],
                               after: dict[str, bytes], refusal_codes: Iterable[int] = (5,),
                               ok_codes: Iterable[int] = (0,)) -> bool:
    """The contract for hostile input: accepted (an ok exit code), or refused with a documented exit
    code, one stderr line naming the hostile file, and no file modified. Never a traceback or an
    internal error. Returns whether it was refused."""
    assert "Traceback" not in run.stderr and "Traceback" not in run.stdout, run.stderr
    assert "internal error" not in run.stderr, run.stderr
    if run.exit_code in tuple(ok_codes):
        return False
    assert_one_line_error(run, names=hostile, codes=refusal_codes)
    assert after == before, sorted(set(after.items()) ^ set(before.items()))[:2]
    return True


# --- the state the hostile-input tests start from -----------------------------------------------

HOSTILE_ENV = {"TANDEMCTL_NOW_MS": str(NOW)}


def hostile_template(root: Path) -> SweepDir:
    """Three runs the sweep would requeue (hot with snapshot; hot needing the live definition;
    shard-only), their dead letters, four audit records, four journal lines and a config file."""
    d = SweepDir(root)
    spec = definition()
    d.write_runs([run_record("run-hot"), run_record("run-def", with_snapshot=False,
                                                    workflow_definition_snapshot_hash=definition_hash(spec))])
    d.write_shard(run_record("run-shard"))
    d.write_definitions(spec)
    d.write_dead_letters([group_a_dead_letter(f"dl-{name}", run_id=f"run-{name}", updated=1460 - i)
                          for i, name in enumerate(("hot", "def", "shard"))]
                         + [group_a_dead_letter("dl-open", run_id="run-none", status="open", updated=1400)])
    tail: Any = None
    lines = []
    for seq in (1, 2, 3, 4):
        tail = build_protected_event(event_id=f"event-{seq}", event_type="test.event", tenant=None, actor="seed",
                                     payload={"n": seq}, created_at_ms=seq, seq=seq,
                                     prev_hash=tail["record_hash"] if tail else None)
        lines.append(json.dumps(tail, separators=(",", ":")).encode() + b"\n")
    d.paths.audit_file.parent.mkdir(parents=True)
    d.paths.audit_file.write_bytes(b"".join(lines))
    make_idle(d.paths.reliability_file)
    for action in ("park", "reopen", "park", "reopen"):  # four journal lines
        done = run_in_process(root, ["--all-tenants", "dead-letters", action, "dl-open", "--reason", "seed"],
                              HOSTILE_ENV)
        assert done.exit_code == 0, done.stderr
    (root / "config.toml").write_text('output = "table"\nlock_timeout = 5\nactor = "fuzz"\n', encoding="utf-8")
    make_idle(d.paths.reliability_file)
    return d
