"""Live mode end to end: tandemctl's CLI against the fake engine over real sockets (spec 06):
mode selection, the engine's identity and version, token sources, gates and faults on reads."""

import http.server
import json
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Result
from tests.remote import engine_rows as rows
from tests.remote.fake_engine import FakeEngine
from tests.remote.live_helpers import RELIABILITY, TENANT_HEADERS, TOKEN, Live, seed

Factory = Callable[..., FakeEngine]


@pytest.fixture(autouse=True)
def _clean_env(clean_live_env: None) -> None:
    """Every test here runs without the live-mode variables of the environment."""


def ids(result: Result) -> list[str]:
    assert result.exit_code == 0, result.stderr
    return [row["dead_letter_id"] for row in result.json()["data"]]


# --- mode selection ---------------------------------------------------------------------------------
def test_live_flag_lists_through_the_api_with_one_token_header_and_no_tenant_headers(live: Live) -> None:
    result = live.cli("-o", "json", "dead-letters", "list")
    assert ids(result) == ["dead-retry", "dead-ignored", "dead-open"]
    sent = live.engine.requests_to("GET", RELIABILITY)
    assert sent and all(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in sent)
    assert not any(h in r.headers for r in live.engine.requests for h in TENANT_HEADERS)
    assert not any("x-tandem-token" in r.headers or "x-agent-token" in r.headers for r in live.engine.requests)


def test_without_live_the_engine_is_not_asked(live: Live, tandemctl: Callable[..., Result]) -> None:
    result = tandemctl("--engine-url", live.engine.url, "-o", "json", "dead-letters", "list")
    assert result.exit_code == 0 and result.json()["data"] == []  # the (empty) local state dir
    assert live.engine.requests == []


def test_mode_from_config_file(live: Live, tandemctl: Callable[..., Result], tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'mode = "live"\nengine_url = "{live.engine.url}"\n')
    result = tandemctl("--config", str(config), "-v", "-o", "json", "dead-letters", "list",
                       env={"TANDEM_API_TOKEN": TOKEN})
    assert ids(result) == ["dead-retry", "dead-ignored", "dead-open"]
    assert f'store: live {live.engine.url} (config mode = "live"; engine URL from config engine_url; ' \
           "Tandem 0.6.6 (version from /global/health); API token from TANDEM_API_TOKEN)" in result.stderr


def test_mode_and_url_from_environment(live: Live, tandemctl: Callable[..., Result]) -> None:
    env = {"TANDEMCTL_MODE": "live", "TANDEM_ENGINE_URL": live.engine.url, "TANDEM_API_TOKEN": TOKEN}
    result = tandemctl("-v", "-o", "json", "dead-letters", "list", env=env)
    assert ids(result) == ["dead-retry", "dead-ignored", "dead-open"]
    assert "(TANDEMCTL_MODE=live; engine URL from TANDEM_ENGINE_URL;" in result.stderr


def test_url_from_host_and_port_variables(live: Live, tandemctl: Callable[..., Result]) -> None:
    port = live.engine.url.rsplit(":", 1)[1]
    env = {"TANDEM_ENGINE_HOST": "127.0.0.1", "TANDEM_ENGINE_PORT": port, "TANDEM_API_TOKEN": TOKEN}
    result = tandemctl("--live", "-v", "-o", "json", "dead-letters", "list", env=env)
    assert ids(result) == ["dead-retry", "dead-ignored", "dead-open"]
    assert "engine URL from TANDEM_ENGINE_HOST/TANDEM_ENGINE_PORT" in result.stderr


def test_a_bad_mode_value_is_a_usage_error(tandemctl: Callable[..., Result]) -> None:
    result = tandemctl("dead-letters", "list", env={"TANDEMCTL_MODE": "online"})
    assert result.exit_code == 2 and "TANDEMCTL_MODE='online': expected live or offline" in result.stderr


def test_version_072_is_read_from_diagnostics(engine_factory: Factory, tandemctl: Callable[..., Result]) -> None:
    engine = engine_factory(token=TOKEN, version="0.7.2")
    seed(engine)
    result = tandemctl("--live", "--engine-url", engine.url, "-v", "dead-letters", "list",
                       env={"TANDEM_API_TOKEN": TOKEN})
    assert result.exit_code == 0, result.stderr
    assert "Tandem 0.7.2 (version from /global/diagnostics)" in result.stderr


# --- not Tandem, not there ------------------------------------------------------------------------
class _NotTandem(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"status": "ok"}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def not_tandem() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotTandem)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_something_else_on_the_port_is_refused(not_tandem: str, tandemctl: Callable[..., Result]) -> None:
    result = tandemctl("--live", "--engine-url", not_tandem, "dead-letters", "list", env={"TANDEM_API_TOKEN": TOKEN})
    assert result.exit_code == 1
    assert f"{not_tandem} is not a Tandem engine: GET /global/health answered HTTP 200" in result.stderr
    assert result.stdout == ""


def test_nothing_listening_is_a_clear_error(tandemctl: Callable[..., Result]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = tandemctl("--live", "--engine-url", f"http://127.0.0.1:{port}", "dead-letters", "list")
    assert result.exit_code == 1
    assert "cannot connect (connection refused or unreachable) (5 attempts)" in result.stderr


# --- token sources and precedence -----------------------------------------------------------------
def _sent_token(engine: FakeEngine) -> str | None:
    request = engine.requests_to("GET", RELIABILITY)[-1]
    return request.headers.get("authorization")


@pytest.mark.parametrize("winner", ["flag", "env", "env_file", "shared"])
def test_token_precedence(live: Live, tandemctl: Callable[..., Result], tmp_path: Path, winner: str) -> None:
    order = ["flag", "env", "env_file", "shared"]
    values = {name: (TOKEN if name == winner else f"tk_wrong_{name}") for name in order[order.index(winner):]}
    env: dict[str, str] = {}
    args = ["--live", "--engine-url", live.engine.url]
    if "flag" in values:
        (tmp_path / "flag-token").write_text(values["flag"] + "\n")
        args += ["--api-token-file", str(tmp_path / "flag-token")]
    if "env" in values:
        env["TANDEM_API_TOKEN"] = values["env"]
    if "env_file" in values:
        (tmp_path / "env-token").write_text(values["env_file"])
        env["TANDEM_API_TOKEN_FILE"] = str(tmp_path / "env-token")
    if "shared" in values:
        home = tmp_path / "tandem-home"
        (home / "security").mkdir(parents=True)
        (home / "security" / "engine_api_token").write_text(values["shared"])
        env["TANDEM_HOME"] = str(home)
    result = tandemctl(*args, "-o", "json", "dead-letters", "list", env=env)
    assert result.exit_code == 0, result.stderr
    assert _sent_token(live.engine) == f"Bearer {TOKEN}"


def test_shared_token_file_under_the_platform_data_dir(live: Live, tandemctl: Callable[..., Result],
                                                       tmp_path: Path) -> None:
    shared = tmp_path / "xdg-data" / "tandem" / "security" / "engine_api_token"
    shared.parent.mkdir(parents=True)
    shared.write_text(TOKEN + "\n")
    result = tandemctl("--live", "--engine-url", live.engine.url, "-v", "dead-letters", "list")
    assert result.exit_code == 0, result.stderr
    assert f"API token from the engine's token file {shared}" in result.stderr


def test_rejected_token_exits_7(live: Live) -> None:
    result = live.cli("dead-letters", "list", token="tk_wrong")
    assert result.exit_code == 7
    assert "rejected the API token (token rejected; from TANDEM_API_TOKEN)" in result.stderr
    assert "tk_wrong" not in result.stderr + result.stdout


def test_no_token_anywhere_names_the_file_looked_at(live: Live, tmp_path: Path) -> None:
    result = live.cli("-o", "json", "dead-letters", "list", token=None)
    assert result.exit_code == 7
    body = result.json()
    assert body["errors"][0]["code"] == "auth"
    expected = tmp_path / "xdg-data" / "tandem" / "security" / "engine_api_token"
    assert f"no token found at {expected}" in body["errors"][0]["message"]


def test_an_explicit_token_file_that_is_missing_is_an_auth_error(live: Live, tmp_path: Path) -> None:
    result = live.cli("--api-token-file", str(tmp_path / "nope"), "dead-letters", "list")
    assert result.exit_code == 7 and f"--api-token-file: no token file at {tmp_path / 'nope'}" in result.stderr


def test_engine_without_token_accepts_no_header(engine_factory: Factory, tandemctl: Callable[..., Result]) -> None:
    engine = engine_factory(token=None, version="0.7.2")
    seed(engine)
    result = tandemctl("--live", "--engine-url", engine.url, "-o", "json", "dead-letters", "list")
    assert ids(result) == ["dead-retry", "dead-ignored", "dead-open"]
    assert all("authorization" not in r.headers for r in engine.requests)


# --- startup gate, 5xx, bounded read retries -------------------------------------------------------
def test_engine_starting_is_retried_a_bounded_number_of_times(live: Live) -> None:
    live.engine.phase = "starting"
    result = live.cli("dead-letters", "list")
    assert result.exit_code == 4
    assert "the engine is still starting" in result.stderr and "gave up after 5 attempts" in result.stderr
    assert live.engine.count("GET", RELIABILITY) == 5


def test_engine_ready_during_the_retries_is_used(live: Live) -> None:
    live.engine.phase = "starting"
    timer = threading.Timer(0.3, lambda: setattr(live.engine, "phase", "ready"))
    timer.start()
    try:
        result = live.cli("-o", "json", "dead-letters", "list")
    finally:
        timer.cancel()
    assert ids(result) == ["dead-retry", "dead-ignored", "dead-open"]


def test_startup_failed_is_not_retried(live: Live) -> None:
    live.engine.phase = "failed"
    result = live.cli("dead-letters", "list")
    assert result.exit_code == 1
    assert "the engine failed to start" in result.stderr and "disk full" in result.stderr
    assert live.engine.count("GET", RELIABILITY) == 1


def test_transient_500s_on_reads_are_retried(live: Live) -> None:
    live.engine.fail_next(2, status=500, method="GET", route=RELIABILITY)
    assert ids(live.cli("-o", "json", "dead-letters", "list")) == ["dead-retry", "dead-ignored", "dead-open"]


def test_persistent_500_is_an_error_after_bounded_retries(live: Live) -> None:
    live.engine.fail_next(100, status=500, method="GET", route=RELIABILITY)
    result = live.cli("dead-letters", "list")
    assert result.exit_code == 1 and "HTTP 500" in result.stderr and "(after 5 attempts)" in result.stderr
    assert live.engine.count("GET", RELIABILITY) == 5


# --- reads ----------------------------------------------------------------------------------------
def test_server_side_and_client_side_filters(live: Live) -> None:
    assert ids(live.cli("-o", "json", "dead-letters", "list", "--status", "ignored")) == ["dead-ignored"]
    sent = live.engine.requests_to("GET", RELIABILITY)[-1].path
    assert "status=ignored" in sent
    both = live.cli("-o", "json", "dead-letters", "list", "--status", "open", "--status", "retry_requested")
    assert ids(both) == ["dead-retry", "dead-open"]
    assert "status=" not in live.engine.requests_to("GET", RELIABILITY)[-1].path  # two statuses: filtered here
    assert ids(live.cli("-o", "json", "dead-letters", "list", "--run", "run-b")) == ["dead-ignored"]


def test_paging_follows_the_dead_letter_cursor(engine_factory: Factory, tandemctl: Callable[..., Result]) -> None:
    engine = engine_factory(token=TOKEN)
    seed(engine, [rows.dead_letter(f"dead-{n:04d}", created=1000 + n) for n in range(1203)])
    result = tandemctl("--live", "--engine-url", engine.url, "-o", "json", "dead-letters", "list", "--limit", "0",
                       "--reason-match", "timeout", env={"TANDEM_API_TOKEN": TOKEN})
    assert len(ids(result)) == 1203
    pages = [r.path for r in engine.requests_to("GET", RELIABILITY) if "after_id" in r.path]
    assert len(pages) == 1 and "after_id=dead-0203&after_collection=dead_letters" in pages[0]


def test_limit_and_cursor_round_trip(live: Live) -> None:
    first = live.cli("-o", "json", "dead-letters", "list", "--limit", "2")
    assert ids(first) == ["dead-retry", "dead-ignored"]
    cursor = first.json()["next"]
    assert cursor == {"after_id": "dead-ignored", "after_collection": "dead_letters"}
    assert ids(live.cli("-o", "json", "dead-letters", "list", "--after-id", cursor["after_id"])) == ["dead-open"]


def test_an_empty_answer_says_how_sure_it_is(live: Live) -> None:
    live.engine.write_raw_store(b"{ not json")
    result = live.cli("-o", "json", "dead-letters", "list")
    assert result.exit_code == 0 and result.json()["data"] == []
    assert "answers exactly like this when its reliability store is unreadable or corrupt" in result.stderr
    assert result.json()["notes"]


def test_a_filter_that_matches_nothing_on_a_readable_store_has_no_note(live: Live) -> None:
    result = live.cli("-o", "json", "dead-letters", "list", "--run", "run-zzz")
    assert result.exit_code == 0 and result.json()["data"] == [] and "note:" not in result.stderr


def test_sweep_refuses_in_live_mode(live: Live) -> None:
    result = live.cli("sweep", "--once", "--dry-run")
    assert result.exit_code == 4 and "sweep does not run in live mode" in result.stderr


def test_audit_verify_without_a_local_ledger_refuses(live: Live) -> None:
    result = live.cli("audit", "verify")
    assert result.exit_code == 3 and "no local audit ledger" in result.stderr
