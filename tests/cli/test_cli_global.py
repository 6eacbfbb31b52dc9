"""Global options, env vars, config file, exit codes and failure envelopes through the CLI."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import NOW_MS, StateDir
from tests.factories import dead_letter, tenant, write_store


def test_help_documents_exit_codes(tandemctl) -> None:
    result = tandemctl("--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    for fragment in ("0 ok", "1 error", "2 usage", "3 not found", "4 busy", "5 corrupt", "6 partial",
                     "130 interrupted"):
        assert fragment in text


def test_version_and_python_m(state: StateDir) -> None:
    out = subprocess.run([sys.executable, "-m", "tandemctl", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("tandemctl ")


def test_global_options_before_command(tandemctl, state: StateDir) -> None:
    write_store(state.reliability, [dead_letter("dead-a", tenant_context=tenant("org-a", "ws-a"))])
    body = tandemctl("--all-tenants", "-o", "json", "dead-letters", "list").json()
    assert [r["dead_letter_id"] for r in body["data"]] == ["dead-a"]


def test_env_vars_select_tenant_and_output(tandemctl, state: StateDir) -> None:
    write_store(state.reliability, [dead_letter("dead-a", tenant_context=tenant("org-a", "ws-a")),
                                    dead_letter("dead-l")])
    result = tandemctl("dead-letters", "list", env={"TANDEMCTL_TENANT": "org-a/ws-a", "TANDEMCTL_OUTPUT": "json"})
    assert [r["dead_letter_id"] for r in result.json()["data"]] == ["dead-a"]


def test_tandem_state_dir_env_is_honoured(state: StateDir, tmp_path: Path) -> None:
    write_store(state.reliability, [dead_letter("dead-l")])
    env = {**os.environ, "TANDEM_STATE_DIR": str(state.root), "TANDEMCTL_OUTPUT": "json"}
    out = subprocess.run([sys.executable, "-m", "tandemctl", "dead-letters", "list"], env=env,
                         capture_output=True, text=True, check=True)
    assert [r["dead_letter_id"] for r in json.loads(out.stdout)["data"]] == ["dead-l"]


def test_config_file_sets_defaults_and_flags_override(tandemctl, state: StateDir, tmp_path: Path) -> None:
    write_store(state.reliability, [dead_letter("dead-a", tenant_context=tenant("org-a", "ws-a")),
                                    dead_letter("dead-l")])
    config = tmp_path / "config.toml"
    config.write_text('tenant = "org-a/ws-a"\noutput = "json"\n')
    assert [r["dead_letter_id"] for r in tandemctl("--config", str(config), "dead-letters", "list").json()["data"]] \
        == ["dead-a"]
    flagged = tandemctl("--config", str(config), "--tenant", "local/local", "dead-letters", "list").json()
    assert [r["dead_letter_id"] for r in flagged["data"]] == ["dead-l"]


def test_bad_config_is_a_usage_error(tandemctl, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('tenatn = "x"\n')
    result = tandemctl("--config", str(config), "dead-letters", "list")
    assert result.exit_code == 2 and "tenatn" in result.stderr


def test_bad_tenant_is_usage_error(tandemctl) -> None:
    result = tandemctl("--tenant", "just-org", "dead-letters", "list")
    assert result.exit_code == 2 and "ORG/WORKSPACE" in result.stderr


def test_corrupt_store_exits_5_with_envelope_and_no_traceback(tandemctl, state: StateDir) -> None:
    state.reliability.write_bytes(b'{"dead_letters": [{"dead_letter_id": "x"}]}')
    result = tandemctl("-o", "json", "dead-letters", "list")
    assert result.exit_code == 5
    body = result.json()
    assert body["ok"] is False and body["exit_code"] == 5 and body["data"] is None
    assert body["errors"][0]["code"] == "corrupt_state" and "dead_letters[0]" in body["errors"][0]["message"]
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_unreadable_store_path_is_corrupt_not_empty(tandemctl, state: StateDir) -> None:
    state.reliability.mkdir()
    result = tandemctl("dead-letters", "list")
    assert result.exit_code == 5 and "is a directory" in result.stderr


def test_since_and_older_than_use_pinned_clock(tandemctl, state: StateDir) -> None:
    write_store(state.reliability, [dead_letter("recent", created=NOW_MS - 60_000),
                                    dead_letter("ancient", created=NOW_MS - 10 * 86_400_000)])
    recent = tandemctl("-o", "json", "dead-letters", "list", "--since", "1h").json()["data"]
    assert [r["dead_letter_id"] for r in recent] == ["recent"]
    old = tandemctl("-o", "json", "dead-letters", "list", "--older-than", "7d").json()["data"]
    assert [r["dead_letter_id"] for r in old] == ["ancient"]
    bad = tandemctl("dead-letters", "list", "--since", "soon")
    assert bad.exit_code == 2 and "--since" in bad.stderr


def test_verbose_prints_resolved_paths_to_stderr(tandemctl, state: StateDir) -> None:
    result = tandemctl("-v", "-o", "json", "dead-letters", "list")
    assert "reliability store:" in result.stderr and "reliability store:" not in result.stdout
    json.loads(result.stdout)


def test_record_text_is_inert_in_tables(tandemctl, state: StateDir) -> None:
    write_store(state.reliability, [dead_letter("dead-\x1b[2J", reason="[bold red]boom[/] \x1b[31mred\x07")])
    result = tandemctl("dead-letters", "list")
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "[bold red]boom[/]" in result.stdout and "\\x1b[31mred\\x07" in result.stdout


def test_table_is_readable_at_80_columns(tandemctl, state: StateDir) -> None:
    write_store(state.reliability, [dead_letter("dead-letter-effect-18ab48006bed9a50", reason="x" * 200,
                                                run_id="automation-v2-run-9c1f4a7e-1111-2222-3333-444455556666")])
    result = tandemctl("dead-letters", "list", env={"COLUMNS": "80", "TTY_COMPATIBLE": "1"})
    lines = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout).splitlines()
    assert lines and all(len(line) <= 80 for line in lines)
    assert "STATUS" in lines[0] and "open" in result.stdout


def test_store_beyond_memory_budget_is_refused_cleanly(tandemctl, state: StateDir) -> None:
    data = write_store(state.reliability, [dead_letter(f"dead-{i}", reason="x" * 2000) for i in range(600)])
    assert len(data) > 1024 * 1024
    result = tandemctl("-o", "json", "dead-letters", "list", env={"TANDEMCTL_MAX_STATE_MB": "1"})
    assert result.exit_code == 5
    assert "more than tandemctl can load safely" in result.stderr and str(state.reliability) in result.stderr
    assert result.json()["errors"][0]["code"] == "unsupported_state"
    assert state.reliability.read_bytes() == data
    assert tandemctl("-o", "json", "dead-letters", "list", env={"TANDEMCTL_MAX_STATE_MB": "2"}).exit_code == 0


def test_symlinked_store_pointing_outside_is_refused(tandemctl, state: StateDir, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.json"
    data = write_store(outside, [dead_letter("dead-1")])
    state.reliability.symlink_to(outside)
    result = tandemctl("dead-letters", "list")
    assert result.exit_code == 5 and "symbolic link" in result.stderr and str(outside) in result.stderr
    assert state.reliability.is_symlink() and outside.read_bytes() == data


def test_read_only_store_can_still_be_listed(tandemctl, state: StateDir) -> None:
    write_store(state.reliability, [dead_letter("dead-1")])
    state.reliability.chmod(0o444)
    assert tandemctl("-o", "json", "dead-letters", "list").exit_code == 0
