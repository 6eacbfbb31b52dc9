"""`metrics [--textfile]` and `sweep --metrics-file`: Prometheus text parsed back with prometheus_client's
own parser; textfiles written atomically (no temp file left, the previous file replaced whole)."""

from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import NOW_MS, Result, StateDir
from tests.factories import dead_letter, tenant
from tests.sweep_fixtures import group_a_dead_letter, run_record
from tests.triage_state import STORE_KINDS, Triage, build_state

Run = Callable[..., Result]
ACME = tenant("acme", "ops")


@pytest.fixture(params=STORE_KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def small() -> Triage:
    return Triage(dead_letters=[
        dead_letter("dead-1", status="open", created=NOW_MS - 120_000, tenant_context=ACME),
        dead_letter("dead-2", status="retry_requested", created=NOW_MS - 60_000),
        dead_letter("dead-3", status="ignored", created=NOW_MS - 60_000, operator_disposition="retry_exhausted",
                    disposition_at_ms=NOW_MS - 1000),
    ])


def test_metrics_on_stdout_parse_back(tandemctl: Run, kind: str, state: StateDir) -> None:
    build_state(kind, state.root, small())
    result = tandemctl("--all-tenants", "metrics")
    assert result.exit_code == 0, result.stderr
    got = samples(result.stdout)
    assert got[("tandemctl_dead_letters", (("status", "open"), ("tenant", "acme/ops")))] == 1
    assert got[("tandemctl_dead_letters", (("status", "resolved"), ("tenant", "acme/ops")))] == 0
    assert got[("tandemctl_dead_letters", (("status", "retry_requested"), ("tenant", "local/local")))] == 1
    assert len([k for k in got if k[0] == "tandemctl_dead_letters"]) == 12  # 2 tenants x 6 statuses
    assert got[("tandemctl_dead_letters_open_oldest_age_seconds", ())] == 120
    assert got[("tandemctl_dead_letter_retries_in_flight", (("status", "retry_requested"),))] == 1
    assert got[("tandemctl_dead_letters_exhausted", ())] == 1
    assert got[("tandemctl_dead_letters_exhausted_last_24h", ())] == 1
    assert got[("tandemctl_metrics_generated_timestamp_seconds", ())] == NOW_MS / 1000


def test_metrics_are_tenant_scoped(tandemctl: Run, kind: str, state: StateDir) -> None:
    build_state(kind, state.root, small())
    got = samples(tandemctl("--tenant", "acme/ops", "metrics").stdout)
    assert {dict(k[1])["tenant"] for k in got if k[0] == "tandemctl_dead_letters"} == {"acme/ops"}


def test_textfile_is_replaced_atomically(tandemctl: Run, kind: str, state: StateDir, tmp_path: Path) -> None:
    build_state(kind, state.root, small())
    out = tmp_path / "textfile"
    out.mkdir()
    target = out / "tandemctl.prom"
    target.write_text("old contents\n")
    result = tandemctl("--all-tenants", "metrics", "--textfile", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    assert ("tandemctl_dead_letters_exhausted", ()) in samples(target.read_text())
    assert sorted(p.name for p in out.iterdir()) == ["tandemctl.prom"]  # no temp file left behind


def test_textfile_in_a_missing_directory_fails_cleanly(tandemctl: Run, kind: str, state: StateDir,
                                                       tmp_path: Path) -> None:
    build_state(kind, state.root, small())
    result = tandemctl("metrics", "--textfile", str(tmp_path / "nope" / "x.prom"))
    assert result.exit_code == 1 and "directory does not exist" in result.stderr and "Traceback" not in result.stderr


def test_sweep_metrics_file(tandemctl: Run, kind: str, state: StateDir, tmp_path: Path) -> None:
    build_state(kind, state.root, Triage(dead_letters=[group_a_dead_letter()], runs=[run_record()]))
    target = tmp_path / "sweep.prom"
    env = {"TANDEM_ENGINE_URL": "http://127.0.0.1:9"}
    # A 0.6.9+ database is swept by its engine: there tandemctl's sweep only plans (--dry-run).
    dry_run = ("--dry-run",) if kind == "sqlite" else ()
    result = tandemctl("sweep", "--once", *dry_run, "--metrics-file", str(target), env=env)
    assert result.exit_code == 0, result.stderr
    got = samples(target.read_text())
    assert got[("tandemctl_sweep_dead_letters", (("outcome", "dispatched"),))] == 1
    assert got[("tandemctl_sweep_dead_letters", (("outcome", "skipped"),))] == 0
    assert got[("tandemctl_sweep_runs_requeued", ())] == 1
    assert got[("tandemctl_sweep_last_run_timestamp_seconds", ())] == NOW_MS / 1000
    assert got[("tandemctl_sweep_duration_seconds", ())] >= 0
    assert got[("tandemctl_sweep_skipped_engine_live", ())] == 0
    assert got[("tandemctl_sweep_dry_run", ())] == (1 if dry_run else 0)
