"""Every example runs as written: each `Example:` of every `--help` page and each `tandemctl` line of
the README's bash blocks runs against a fresh copy of `examples/state` and must exit 0."""

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from tandemctl.cli.app import app
from tests.conftest import NOW_MS
from tests.remote.fake_engine import FakeEngine

LIVE_TOKEN = "tk_examples_0123456789abcdef"

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "state"
README = (ROOT / "README.md").read_text()


def _commands(group: Any) -> list[Any]:
    found = [group]
    for command in getattr(group, "commands", {}).values():
        found += _commands(command)
    return found


def help_examples() -> list[str]:
    texts = [command.help or "" for command in _commands(typer.main.get_command(app))]
    return [" ".join(m.group(1).split()) for text in texts for m in re.finditer(r"Example: (tandemctl .+?)(?:\n\n|$)",
                                                                               text, re.S)]


def readme_examples() -> list[str]:
    """The tandemctl invocations of every ```bash block (a `cmd && tandemctl …` chain keeps its
    tandemctl parts; a cron line keeps its command)."""
    found = []
    for block in re.findall(r"```bash\n(.*?)```", README, re.S):
        for line in block.splitlines():
            if "tandemctl " not in line or line.lstrip().startswith("#"):
                continue
            parts = [part.strip() for part in line.split("&&") if part.strip().startswith("tandemctl ")
                     or " tandemctl " in part]
            found += [part[part.index("tandemctl "):] for part in parts]
    return found


# Options whose value is a path the example names on a real host (`/srv/tandem`, `/var/lib/...`): the
# test points them into its temporary copy instead, so an example never touches this machine.
_STATE_OPTIONS = frozenset({"--state-dir"})
_FILE_OPTIONS = frozenset({"--textfile", "--metrics-file", "--output-file"})


def _argv(example: str, state: Path, engine: "FakeEngine | None" = None) -> list[str]:
    words = shlex.split(example, comments=True)
    assert words[0] == "tandemctl", example
    args: list[str] = []
    rest = iter(words[1:])
    for word in rest:
        if word in _STATE_OPTIONS:
            next(rest)
            args += [word, str(state)]
        elif word in _FILE_OPTIONS:
            args += [word, str(state / Path(next(rest)).name)]
        elif word == "--engine-url" and engine is not None:
            next(rest)
        else:
            args.append(str(state) if word == "examples/state" else word)
    if engine is not None:  # a live example acts on a test engine serving the sample state
        args = ["--engine-url", engine.url, *args]
    return args if "--state-dir" in args else ["--state-dir", str(state), *args]


def _is_loop(argv: list[str]) -> bool:
    return "sweep" in argv and "--once" not in argv and not {"-h", "--help"} & set(argv)


def _run(example: str, state: Path, engine: "FakeEngine | None" = None) -> None:
    for part in example.split("&&"):
        argv = _argv(part.strip(), state, engine)
        if _is_loop(argv):
            _run_loop(argv)
            continue
        env = {"TANDEM_ENGINE_PORT": "9", "TANDEM_API_TOKEN": LIVE_TOKEN if engine is not None else None}
        result = CliRunner().invoke(app, argv, catch_exceptions=False, env=env)
        # A health command's exit code is its verdict (check: Nagios 0/1/2; doctor: 1 = warnings), and the
        # sample state is built to show problems.
        allowed = (0, 1, 2) if "check" in argv else (0, 1) if "doctor" in argv else (0,)
        assert result.exit_code in allowed, f"{part}: exit {result.exit_code}\n{result.stderr[-2000:]}"


def _run_loop(argv: list[str]) -> None:
    """A loop example runs until signalled: one sweep, then SIGTERM, then exit 0."""
    env = {**os.environ, "TANDEMCTL_NOW_MS": str(NOW_MS), "NO_COLOR": "1", "TANDEM_ENGINE_PORT": "9"}
    proc = subprocess.Popen([sys.executable, "-m", "tandemctl", *argv], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    first = proc.stderr.readline()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "acted on" in first, first + err


EXAMPLES = sorted(set(help_examples())) + readme_examples()


def test_the_examples_are_found() -> None:
    assert len(help_examples()) >= 9 and len(readme_examples()) >= 10
    assert any("undo op-" in example for example in EXAMPLES)


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_runs_as_written(example: str, tmp_path: Path) -> None:
    state = tmp_path / "state"
    shutil.copytree(SAMPLE, state)  # a fresh copy each: mutating examples never see each other
    if "--live" not in shlex.split(example, comments=True):
        _run(example, state)
        return
    served = tmp_path / "engine"
    shutil.copytree(SAMPLE, served)
    with FakeEngine(served, token=LIVE_TOKEN, clock=lambda: NOW_MS) as engine:
        _run(example, state, engine)
