"""Golden output: every command's stdout, stderr and exit code, byte for byte.

Each scenario of `tests/cli/golden_cases.py` runs its command lines as real `python -m tandemctl`
subprocesses, one after another on one temporary state, in a fully controlled environment, and
compares the normalised results with `tests/cli/golden/<scenario>.json`.

    TANDEMCTL_GOLDEN_UPDATE=1 python3 -m pytest tests/cli/test_golden.py   # rewrite the golden files

Only what legitimately differs between runs is normalised: the temporary state and home paths,
operation ids (`op-<stamp>-<hex>` becomes `op-<stamp>-#N`, numbered by first appearance within the
scenario, also where a table column cuts the id short), free-standing UUIDs (`<UUID-N>`) and the
engine probe's port. In the golden files stdout and stderr are stored as lists of lines (the text
split on "\\n", so joining them back is exact).
"""

import difflib
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from benchmarks.generate import generate_state
from tests.cli.golden_cases import GENERATED, SCENARIOS, Scenario


def _repo_root() -> Path:
    for parent in Path(__file__).resolve().parents:
        if (parent / "pyproject.toml").is_file():
            return parent
    raise RuntimeError("no pyproject.toml above " + __file__)


REPO_ROOT = _repo_root()
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
SAMPLE_STATE = REPO_ROOT / "examples" / "state"
NOW_MS = 1_795_737_600_000
UPDATE = os.environ.get("TANDEMCTL_GOLDEN_UPDATE") == "1"
STEP_TIMEOUT_S = 60

OP_ID = re.compile(r"\bop-(\d{8}T\d{6})-([0-9a-f]{8})\b")
# An operation id cut short by a table column: "op-20261127T000000-3fa2…".
OP_ID_CUT = re.compile(r"\bop-(\d{8}T\d{6})-([0-9a-f]{1,7})…")
OP_PLACEHOLDER = re.compile(r"\{op:(\d+)\}")
# A UUID on its own (audit event ids); run ids such as automation-v2-run-<uuid> are stable and kept.
UUID = re.compile(r"(?<![\w-])[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![\w-])")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@dataclass
class Normaliser:
    """Replaces the run-specific parts of an output; op ids and UUIDs numbered per scenario."""

    paths: list[tuple[str, str]]
    port: int
    op_ids: dict[str, int] = field(default_factory=dict)
    uuids: dict[str, int] = field(default_factory=dict)

    def _op(self, match: re.Match[str]) -> str:
        number = self.op_ids.setdefault(match.group(0), len(self.op_ids) + 1)
        return f"op-{match.group(1)}-#{number}"

    def _op_cut(self, match: re.Match[str]) -> str:
        """A cut id gets the number of the one known id it is a prefix of (else `#?`)."""
        prefix = match.group(0)[:-1]
        known = [number for op_id, number in self.op_ids.items() if op_id.startswith(prefix)]
        return f"op-{match.group(1)}-#{known[0] if len(known) == 1 else '?'}…"

    def _uuid(self, match: re.Match[str]) -> str:
        number = self.uuids.setdefault(match.group(0), len(self.uuids) + 1)
        return f"<UUID-{number}>"

    def __call__(self, text: str) -> str:
        for raw, placeholder in self.paths:
            text = text.replace(raw, placeholder)
        text = OP_ID.sub(self._op, text)
        text = OP_ID_CUT.sub(self._op_cut, text)
        text = UUID.sub(self._uuid, text)
        for host in ("127.0.0.1", "localhost"):
            text = text.replace(f"{host}:{self.port}", f"{host}:<PORT>")
        return text


def _path_replacements(pairs: list[tuple[Path, str]]) -> list[tuple[str, str]]:
    """Each path as given and resolved, longest first so a parent never eats a child's prefix."""
    out: dict[str, str] = {}
    for path, placeholder in pairs:
        for variant in (str(path), str(path.resolve())):
            out.setdefault(variant, placeholder)
    return sorted(out.items(), key=lambda item: len(item[0]), reverse=True)


def _build_state(kind: str, root: Path) -> None:
    if kind == "sample":
        shutil.copytree(SAMPLE_STATE, root)
    elif kind == "generated":
        root.mkdir()
        generate_state(root, now_ms=NOW_MS, **GENERATED)
    else:
        raise ValueError(f"unknown state kind {kind!r}")


def _environment(home: Path, port: int) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "PYTHONPATH": str(REPO_ROOT),
        "TANDEMCTL_NOW_MS": str(NOW_MS),
        "NO_COLOR": "1",
        "COLUMNS": "100",
        "LINES": "50",
        "USER": "golden-tester",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "TANDEM_ENGINE_PORT": str(port),
    }


def _resolve_placeholders(args: list[str], raw_outputs: list[tuple[str, str]], scenario: str) -> list[str]:
    def operation_of(match: re.Match[str]) -> str:
        step = int(match.group(1))
        if not 1 <= step <= len(raw_outputs):
            raise AssertionError(f"{scenario}: {match.group(0)} refers to a step that has not run yet")
        stdout, stderr = raw_outputs[step - 1]
        found = OP_ID.search(stdout) or OP_ID.search(stderr)
        if found is None:
            raise AssertionError(f"{scenario}: step {step} printed no operation id for {match.group(0)}")
        return found.group(0)

    return [OP_PLACEHOLDER.sub(operation_of, arg) for arg in args]


def _split_lines(text: str) -> list[str]:
    return text.split("\n")


def run_scenario(scenario: Scenario, tmp: Path) -> dict[str, Any]:
    state_root = tmp / "state"
    home = tmp / "home"
    home.mkdir()
    _build_state(scenario.state, state_root)
    port = _free_port()
    env = _environment(home, port)
    normalise = Normaliser(
        _path_replacements([(state_root, "<STATE>"), (home, "<HOME>"), (tmp, "<TMP>")]), port)
    raw_outputs: list[tuple[str, str]] = []
    steps: list[dict[str, Any]] = []
    for line in scenario.steps:
        args = _resolve_placeholders(shlex.split(line), raw_outputs, scenario.name)
        argv = ["--state-dir", str(state_root), *args]
        completed = subprocess.run(
            [sys.executable, "-m", "tandemctl", *argv], cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL,
            capture_output=True, timeout=STEP_TIMEOUT_S, check=False)
        stdout = completed.stdout.decode("utf-8", errors="backslashreplace")
        stderr = completed.stderr.decode("utf-8", errors="backslashreplace")
        raw_outputs.append((stdout, stderr))
        steps.append({
            "argv": [normalise(arg) for arg in argv],
            "exit_code": completed.returncode,
            "stdout": _split_lines(normalise(stdout)),
            "stderr": _split_lines(normalise(stderr)),
        })
    return {"scenario": scenario.name, "state": scenario.state, "steps": steps}


def _diff(expected: list[str], actual: list[str], name: str) -> str:
    return "\n".join(difflib.unified_diff(expected, actual, f"golden {name}", f"actual {name}", lineterm=""))


def _first_mismatch(scenario: str, golden: dict[str, Any], actual: dict[str, Any]) -> str | None:
    expected_steps, actual_steps = golden.get("steps", []), actual["steps"]
    for index, (want, got) in enumerate(zip(expected_steps, actual_steps, strict=False), start=1):
        where = f"scenario {scenario!r}, step {index}: tandemctl {shlex.join(got['argv'])}"
        if want.get("argv") != got["argv"]:
            return (f"{where}\nthe command line differs from the golden file's {want.get('argv')!r}; "
                    "regenerate with TANDEMCTL_GOLDEN_UPDATE=1 after changing tests/cli/golden_cases.py")
        for stream in ("stdout", "stderr"):
            if want.get(stream) != got[stream]:
                extra = ("" if want.get("exit_code") == got["exit_code"]
                         else f" (and exit code {got['exit_code']}, golden {want.get('exit_code')})")
                return f"{where}\n{stream} differs{extra}:\n{_diff(want.get(stream, []), got[stream], stream)}"
        if want.get("exit_code") != got["exit_code"]:
            return f"{where}\nexit code {got['exit_code']}, golden {want.get('exit_code')}"
    if len(expected_steps) != len(actual_steps):
        return (f"scenario {scenario!r}: {len(actual_steps)} steps, golden file has {len(expected_steps)}; "
                "regenerate with TANDEMCTL_GOLDEN_UPDATE=1")
    return None


def _golden_path(name: str) -> Path:
    return GOLDEN_DIR / f"{name}.json"


def _scenarios() -> Iterator[Any]:
    for scenario in SCENARIOS:
        yield pytest.param(scenario, id=scenario.name)


@pytest.mark.parametrize("scenario", list(_scenarios()))
def test_golden(scenario: Scenario, tmp_path: Path) -> None:
    actual = run_scenario(scenario, tmp_path)
    path = _golden_path(scenario.name)
    if UPDATE:
        GOLDEN_DIR.mkdir(exist_ok=True)
        path.write_text(json.dumps(actual, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return
    if not path.is_file():
        pytest.fail(f"{path.relative_to(REPO_ROOT)} is missing; create it with TANDEMCTL_GOLDEN_UPDATE=1")
    golden = json.loads(path.read_text(encoding="utf-8"))
    mismatch = _first_mismatch(scenario.name, golden, actual)
    if mismatch is not None:
        pytest.fail(mismatch, pytrace=False)


def test_golden_cases_are_well_formed() -> None:
    names = [scenario.name for scenario in SCENARIOS]
    assert len(names) == len(set(names)), "scenario names must be unique"
    for scenario in SCENARIOS:
        assert scenario.state in ("sample", "generated"), scenario.name
        for number, line in enumerate(scenario.steps, start=1):
            for match in OP_PLACEHOLDER.finditer(line):
                assert 1 <= int(match.group(1)) < number, f"{scenario.name} step {number}: {match.group(0)}"


def test_no_stale_golden_files() -> None:
    if UPDATE:
        return
    stale = sorted(path.name for path in GOLDEN_DIR.glob("*.json")
                   if path.stem not in {scenario.name for scenario in SCENARIOS})
    assert not stale, f"golden files without a scenario: {stale}"
