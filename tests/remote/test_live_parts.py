"""The live mode's small parts on their own: engine-URL and token resolution, the rate limiter."""

from pathlib import Path

import pytest

from tandemctl.errors import AuthError, ExitCode, UsageError
from tandemctl.remote.endpoint import engine_url_and_source, redact
from tandemctl.remote.ratelimit import RateLimiter
from tandemctl.remote.token import resolve_token, tandem_home


def test_engine_url_order_and_sources() -> None:
    assert engine_url_and_source({}) == ("http://127.0.0.1:39731", "the default")
    env = {"TANDEM_ENGINE_HOST": "10.0.0.7", "TANDEM_ENGINE_PORT": "4000"}
    assert engine_url_and_source(env) == ("http://10.0.0.7:4000", "TANDEM_ENGINE_HOST/TANDEM_ENGINE_PORT")
    assert engine_url_and_source({**env, "TANDEM_ENGINE_URL": "http://h:1/"}) == ("http://h:1", "TANDEM_ENGINE_URL")
    assert engine_url_and_source({"TANDEM_ENGINE_URL": "http://h:1"}, "http://o:2") == ("http://o:2", "--engine-url")
    assert engine_url_and_source({"TANDEM_ENGINE_HOST": "::1"})[0] == "http://[::1]:39731"
    with pytest.raises(UsageError):
        engine_url_and_source({"TANDEM_ENGINE_PORT": "70000"})


def test_credentials_in_a_url_are_never_shown() -> None:
    assert redact("http://user:pw@host:8080/x") == "http://host:8080/x"
    assert redact("http://host:8080") == "http://host:8080"


def test_tandem_home_order(tmp_path: Path) -> None:
    assert tandem_home({"TANDEM_HOME": "/a", "TANDEM_STATE_DIR": "/b"}) == Path("/a")
    assert tandem_home({"TANDEM_STATE_DIR": "/b"}) == Path("/b")
    assert tandem_home({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "tandem"


def test_token_values_are_trimmed_and_empty_means_unset(tmp_path: Path) -> None:
    (tmp_path / "t").write_text("  tk_file \n")
    assert resolve_token({"TANDEM_API_TOKEN": "  ", "TANDEM_API_TOKEN_FILE": str(tmp_path / "t")}, None).value == \
        "tk_file"
    token = resolve_token({"TANDEM_HOME": str(tmp_path)}, None)
    assert token.value is None and token.looked_at == tmp_path / "security" / "engine_api_token"
    assert "tk_" not in repr(resolve_token({"TANDEM_API_TOKEN": "tk_x"}, None))


@pytest.mark.parametrize("content", [b"", b"a\nb", b"\xff"])
def test_a_bad_explicit_token_file_is_an_auth_error(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "t").write_bytes(content)
    with pytest.raises(AuthError) as caught:
        resolve_token({}, str(tmp_path / "t"))
    assert caught.value.exit_code == ExitCode.AUTH == 7 and str(tmp_path / "t") in caught.value.message


def test_rate_limiter_spaces_sends_on_a_grid() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(4, clock=lambda: now[0], sleep=sleep)
    sends = []
    for _ in range(6):
        limiter.wait()
        sends.append(now[0])
    assert sends == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25]
