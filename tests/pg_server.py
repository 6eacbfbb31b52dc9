"""A throwaway PostgreSQL server (pytest-postgresql's executor and janitor) and `pg_url`, a
fresh database per test. PostgreSQL refuses to run as root, so as root pg_ctl runs as the
`postgres` system user (or a dedicated one) through a small privilege-dropping wrapper."""

import contextlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import port_for
import pytest
from pytest_postgresql.config import get_config
from pytest_postgresql.executors import PostgreSQLExecutor
from pytest_postgresql.janitor import DatabaseJanitor

SERVER_USERS = ("postgres",)
DEDICATED_USER = "tandemctl-pg"
SUPERUSER = "postgres"
HOST = "127.0.0.1"

_WRAPPER = """#!{python} -I
import os, sys
os.setgroups([])
os.setgid({gid})
os.setuid({uid})
os.environ["HOME"] = {home!r}
os.execv({pg_ctl!r}, [{pg_ctl!r}, *sys.argv[1:]])
"""


def _find_pg_ctl(request: pytest.FixtureRequest) -> str | None:
    configured = get_config(request).exec  # --postgresql-exec / postgresql_exec in an ini file
    if configured and os.access(configured, os.X_OK):
        return str(configured)
    on_path = shutil.which("pg_ctl")
    if on_path:
        return on_path
    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))  # Debian's layout, not on PATH
    if installed:
        return str(installed[-1])
    try:
        bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    candidate = Path(bindir.strip()) / "pg_ctl"
    return str(candidate) if os.access(candidate, os.X_OK) else None


def _server_user() -> pwd.struct_passwd | None:
    """None when not root; else the unprivileged account that will own the cluster."""
    if os.geteuid() != 0:
        return None
    for name in (*SERVER_USERS, DEDICATED_USER):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", DEDICATED_USER], check=True)
    return pwd.getpwnam(DEDICATED_USER)


def _wrapped_pg_ctl(pg_ctl: str, user: pwd.struct_passwd, workdir: Path) -> str:
    """An executable that runs pg_ctl as `user`; the library takes it as its pg_ctl."""
    wrapper = workdir / "pg_ctl"
    wrapper.write_text(_WRAPPER.format(python=sys.executable, gid=user.pw_gid, uid=user.pw_uid,
                                       home=str(workdir), pg_ctl=pg_ctl))
    wrapper.chmod(0o755)
    return str(wrapper)


@contextlib.contextmanager
def running_cluster(request: pytest.FixtureRequest) -> Iterator[PostgreSQLExecutor]:
    """A throwaway cluster on a temporary directory and a loopback port, removed afterwards."""
    pg_ctl = _find_pg_ctl(request)
    if pg_ctl is None:
        if os.environ.get("CI"):  # CI installs the server: a missing one is a failure, never a skip
            pytest.fail("PostgreSQL server binaries not found; .ci/run should have installed them")
        pytest.skip("PostgreSQL server binaries not found (run .ci/install-postgres.sh)")
    user = _server_user()
    # Not under pytest's basetemp: its 0700 root-owned parents would bar the server user, and
    # a short path keeps the Unix socket under its length limit.
    workdir = Path(tempfile.mkdtemp(prefix="tandemctl-pg-"))
    if user is not None:
        os.chown(workdir, user.pw_uid, user.pw_gid)
        pg_ctl = _wrapped_pg_ctl(pg_ctl, user, workdir)
    executor = PostgreSQLExecutor(
        executable=pg_ctl, host=HOST, port=port_for.select_random(), datadir=str(workdir / "data"),
        unixsocketdir=str(workdir), logfile=str(workdir / "postgresql.log"), startparams="-w",
        dbname="tandemctl", user=SUPERUSER, postgres_options="-c fsync=off")
    try:
        with executor:
            yield executor
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server(request: pytest.FixtureRequest) -> Iterator[PostgreSQLExecutor]:
    with running_cluster(request) as executor:
        yield executor


@pytest.fixture
def pg_url(pg_server: PostgreSQLExecutor) -> Iterator[str]:
    """A connection URL to a database created for this test and dropped after it."""
    dbname = f"t_{uuid.uuid4().hex[:16]}"
    with DatabaseJanitor(user=SUPERUSER, host=HOST, port=pg_server.port, dbname=dbname):
        yield f"postgresql://{SUPERUSER}@{HOST}:{pg_server.port}/{dbname}"
