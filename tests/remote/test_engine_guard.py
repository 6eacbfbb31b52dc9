"""Engine liveness: a real HTTP server on an ephemeral port, a closed port, a real flock."""

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tandemctl.errors import EngineLiveError, ExitCode, UsageError
from tandemctl.remote.engine_guard import check_engine_idle, detect_live_engine, engine_url, probe_health
from tests.live_engine import HealthHandler, health_server
from tests.sweep_fixtures import SweepDir


@pytest.fixture
def engine() -> Iterator[str]:
    with health_server() as url:
        yield url


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def d(tmp_path: Path) -> SweepDir:
    sweep_dir = SweepDir(tmp_path / "state")
    sweep_dir.paths.data_dir.mkdir(parents=True)
    return sweep_dir


def test_answering_health_endpoint_means_live(d: SweepDir, engine: str) -> None:
    with pytest.raises(EngineLiveError) as caught:
        check_engine_idle(d.paths.engine_lock_file, engine, {})
    assert caught.value.exit_code == ExitCode.BUSY == 4
    assert "runs this dead-letter dispatcher itself every second" in caught.value.message
    assert f"HTTP 200 from {engine}/global/health" in caught.value.message
    assert HealthHandler.paths[-1] == "/global/health"


def test_any_http_answer_means_live(engine: str) -> None:
    assert probe_health(engine + "/prefix-that-404s") == "HTTP 404"


def test_guard_message_says_what_answered_where_and_how_to_point_elsewhere(d: SweepDir, engine: str) -> None:
    reason = detect_live_engine(d.paths.engine_lock_file, engine + "/prefix-that-404s", {})
    assert reason is not None
    assert f"HTTP 404 from {engine}/prefix-that-404s/global/health" in reason
    assert "any answer there is treated as a live engine, for safety" in reason and "--engine-url" in reason


def test_closed_port_means_not_live(d: SweepDir, closed_port: int) -> None:
    check_engine_idle(d.paths.engine_lock_file, None, {"TANDEM_ENGINE_PORT": str(closed_port)})
    assert detect_live_engine(d.paths.engine_lock_file, f"http://127.0.0.1:{closed_port}", {}) is None


def test_env_url_is_used(d: SweepDir, engine: str) -> None:
    assert detect_live_engine(d.paths.engine_lock_file, None, {"TANDEM_ENGINE_URL": engine}) is not None


def test_held_engine_lock_means_live(d: SweepDir, closed_port: int) -> None:
    lock = d.paths.engine_lock_file
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, sys, time\n"
         "f = open(sys.argv[1], 'a')\n"
         "fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
         "print('locked', flush=True)\n"
         "time.sleep(60)\n", str(lock)],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"locked\n"
        env = {"TANDEM_ENGINE_PORT": str(closed_port)}
        with pytest.raises(EngineLiveError, match="engine lock"):
            check_engine_idle(d.paths.engine_lock_file, None, env)
    finally:
        holder.kill()
        holder.wait()
    check_engine_idle(d.paths.engine_lock_file, None, env)  # released when its holder died


def test_engine_url_resolution() -> None:
    assert engine_url({}) == "http://127.0.0.1:39731"
    assert engine_url({"TANDEM_ENGINE_PORT": "4000"}) == "http://127.0.0.1:4000"
    assert engine_url({"TANDEM_ENGINE_URL": "http://h:1/"}, None) == "http://h:1"
    assert engine_url({"TANDEM_ENGINE_URL": "http://h:1"}, "http://o:2") == "http://o:2"
    with pytest.raises(UsageError):
        engine_url({"TANDEM_ENGINE_PORT": "nope"})
    with pytest.raises(UsageError):
        probe_health("ftp://host")
