"""`FakeEngine`: a real HTTP server on 127.0.0.1 standing in for tandem-server in live-mode tests.

It serves the engine routes tandemctl uses (spec 06, spec 01 §13) over real sockets, on top of a
data dir (`<root>/data/runtime/stateful_reliability.json`, `<root>/data/automation_v2_runs.json`)
read and written through the project's own store code, and runs the project's dead-letter
dispatcher (`run_sweep`) the way the engine does: synchronously after a retry/compensate choice
and, when `dispatch_interval_s` is set, on a background tick.

Routes and gates live in fake_engine_http.py, route bodies in fake_engine_routes.py.
"""

import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

# --- adapter: every import from tandemctl, and nothing else, lives in this section ----------------
from tandemctl.engine.dispositions import (
    dead_letter_superseded_by_success,
    mark_dead_letter_disposition,
    visible_to_tenant,
)
from tandemctl.engine.query import normalize_filter
from tandemctl.engine.records import canonical_row
from tandemctl.engine.run_store import is_hidden
from tandemctl.errors import CorruptStateError, UnsupportedStateError
from tandemctl.stores.json_codec import ReliabilityData, parse_reliability, serialize_reliability
from tandemctl.stores.json_file import JsonReliabilityFile
from tandemctl.stores.json_runs import load_hot_runs
from tandemctl.stores.json_sweep import run_sweep
from tandemctl.stores.paths import resolve_state_paths

Row = dict[str, Any]
LOCK_TIMEOUT_S = 5.0


class StoreUnreadable(Exception):
    """The store cannot be read or parsed (a read-only load then sees an empty store)."""


def _load(path: Path) -> Row:
    """The store's top-level object, parsed as strictly as the engine does; raises StoreUnreadable."""
    try:
        data = path.read_bytes() if path.exists() else None
        return parse_reliability(data, path).top
    except Exception as exc:  # any read or parse failure: the engine logs and treats it as empty
        raise StoreUnreadable(str(exc)) from exc


def _save(path: Path, top: Row) -> None:
    """Write a whole store in the engine's layout (used to seed tests)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(serialize_reliability(ReliabilityData(top=dict(top), exists=True)))


def _mutate(path: Path, apply: Callable[[Row], tuple[bool, Any]]) -> Any:
    """Locked read-modify-write through the project's JSON backend; raises StoreUnreadable."""
    try:
        return JsonReliabilityFile(path).mutate(lambda store: apply(store.top), lock_timeout=LOCK_TIMEOUT_S)
    except (CorruptStateError, UnsupportedStateError) as exc:
        raise StoreUnreadable(str(exc)) from exc


def _mark(row: Row, *, status: str, disposition: str, reason: str | None, actor_id: str | None,
          now_ms: int) -> None:
    """`mark_dead_letter_disposition` in place, then the engine's key order for the changed row."""
    mark_dead_letter_disposition(row, status=status, disposition=disposition, reason=reason, actor_id=actor_id,
                                 now_ms=now_ms)
    _recanon(row, "dead_letters")


def _recanon(row: Row, collection: str) -> None:
    ordered = canonical_row(row, collection)
    row.clear()
    row.update(ordered)


def _visible(row: Row, tenant: Row) -> bool:
    return visible_to_tenant(row, tenant)


def _superseded(row: Row) -> bool:
    """The complete superseded-by-success marker (the same rule for dead letters and compensations)."""
    return dead_letter_superseded_by_success(row)


def _norm(value: str | None) -> str | None:
    """Trim, `-`→`_`, lowercase; empty and `all` mean no filter."""
    return normalize_filter(value)


def _hot_run(data_root: Path, run_id: str) -> Row | None:
    """The automation-v2 run the engine holds in memory (the hot runs file), or None."""
    try:
        hot = load_hot_runs(data_root / "automation_v2_runs.json")
        record = hot.record(run_id)
    except Exception:
        return None
    return None if record is None or is_hidden(record) else record


def _sweep(root: Path, now_ms: int) -> int:
    """One run of the engine's dead-letter retry dispatcher over every tenant; returns `acted`."""
    paths = resolve_state_paths({}, state_dir=str(root))
    outcome = run_sweep(paths, now_ms=now_ms, dry_run=False, max_dispatches=None, tenant=None,
                        lock_timeout=LOCK_TIMEOUT_S)
    return outcome.acted
# --- end of adapter --------------------------------------------------------------------------------

LOCAL_TENANT: Row = {"org_id": "local", "workspace_id": "local", "source": "local_implicit"}
COLLECTIONS = ("outbox", "tool_effects", "dead_letters", "compensations")


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("+")[0].split("-")[0].split("."))


@dataclass
class RecordedRequest:
    """One request as received: `headers` has lower-cased names (the last value of a repeated name);
    `at` is `time.monotonic()` when its headers were read."""

    method: str
    path: str
    route: str
    headers: dict[str, str]
    body: bytes
    status: int | None = None  # the status replied, None when the connection was dropped
    at: float = field(default_factory=time.monotonic)  # when it was received (for rate assertions)


@dataclass
class Fault:
    kind: str  # "delay", "drop" or "fail"
    method: str | None
    route: str | None
    times: int | None  # None: until cleared
    seconds: float = 0.0
    status: int = 500

    def matches(self, method: str, route: str) -> bool:
        return self.method in (None, method) and self.route in (None, route)


@dataclass
class FakeEngine:
    """A tandem-server stand-in. `root` holds `data/`; the server listens on 127.0.0.1:`port` (0: any).

    * `version`: below "0.7.2" health is the rich 0.6.6 object and a token sent to an engine with
      no token configured is ignored; from "0.7.2" health is `{healthy, ready}`, the version is at
      `/global/diagnostics`, and such a token gets 401.
    * `token`: the API token (None: no token configured). `phase`: "ready", "starting" or "failed"
      (`startup_error` is the failure text). All three may be changed while serving.
    * `corrupt_store_as_empty`: True (the engine): an unreadable store lists as empty with 200.
      False: the list routes answer 500 `{"error":"reliability_store_unreadable",...}` (not engine
      behaviour; for tests that must tell the two cases apart).
    * `dispatch_interval_s`: run the dispatcher every that many seconds (None: never in the background).
    * `clock`: milliseconds since the epoch (default: the real clock).
    """

    root: Path
    version: str = "0.6.6"
    token: str | None = "tk_fake_engine_token"
    phase: str = "ready"
    startup_error: str = "storage_init failed: disk full"
    corrupt_store_as_empty: bool = True
    dispatch_interval_s: float | None = None
    clock: Callable[[], int] | None = None
    port: int = 0
    requests: list[RecordedRequest] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    faults: list[Fault] = field(default_factory=list)
    dispatch_errors: list[str] = field(default_factory=list)
    sweeps: int = 0
    attempt_id: str = "6f1c2d9e-0000-4000-8000-000000000001"

    def __post_init__(self) -> None:
        self.root = Path(self.root).resolve()
        self.lock = threading.RLock()  # serialises store writes and dispatcher runs, like the engine's mutex
        self._records_lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._started_monotonic = time.monotonic()
        self.data_dir.joinpath("runtime").mkdir(parents=True, exist_ok=True)

    # --- paths and state -----------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def reliability_file(self) -> Path:
        return self.data_dir / "runtime" / "stateful_reliability.json"

    @property
    def runs_file(self) -> Path:
        return self.data_dir / "automation_v2_runs.json"

    @property
    def events_file(self) -> Path:
        return self.data_dir / "runtime" / "stateful_events.jsonl"

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake engine is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def rich_health(self) -> bool:
        return version_tuple(self.version) < (0, 7, 2)

    def now_ms(self) -> int:
        return self.clock() if self.clock is not None else time.time_ns() // 1_000_000

    def elapsed_ms(self) -> int:
        return int((time.monotonic() - self._started_monotonic) * 1000)

    def write_store(self, *, dead_letters: Iterable[Row] = (), outbox: Iterable[Row] = (),
                    tool_effects: Iterable[Row] = (), compensations: Iterable[Row] = ()) -> None:
        _save(self.reliability_file, {"schema_version": 1, "outbox": list(outbox), "tool_effects": list(tool_effects),
                                      "dead_letters": list(dead_letters), "compensations": list(compensations)})

    def write_raw_store(self, data: bytes) -> None:
        self.reliability_file.write_bytes(data)

    def read_store(self) -> Row:
        top: Row = json.loads(self.reliability_file.read_bytes())
        return top

    def dead_letter(self, dead_letter_id: str) -> Row:
        return next(row for row in self.read_store()["dead_letters"] if row["dead_letter_id"] == dead_letter_id)

    def write_runs(self, runs: Iterable[Row]) -> None:
        """The runs "in memory": the hot runs file (v1 envelope)."""
        top = {"schema_version": 1, "runs": {run["run_id"]: run for run in runs}}
        self.runs_file.write_text(json.dumps(top, indent=2))

    def read_runs(self) -> dict[str, Row]:
        runs: dict[str, Row] = json.loads(self.runs_file.read_bytes())["runs"]
        return runs

    def events(self) -> list[Row]:
        if not self.events_file.exists():
            return []
        return [json.loads(line) for line in self.events_file.read_bytes().splitlines() if line.strip()]

    # --- fault hooks and records ---------------------------------------------------------------
    def delay_replies(self, seconds: float, *, method: str | None = "POST", route: str | None = None,
                      times: int | None = None) -> None:
        """Handle matching requests normally, then wait `seconds` before replying."""
        self._add_fault(Fault("delay", method, route, times, seconds=seconds))

    def drop_after_apply(self, *, method: str | None = "POST", route: str | None = None, times: int = 1) -> None:
        """Handle matching requests (a POST's change is applied), then close without replying."""
        self._add_fault(Fault("drop", method, route, times))

    def fail_next(self, n: int, *, status: int = 500, method: str | None = None, route: str | None = None) -> None:
        """Answer the next `n` matching requests that pass the gates with `status`, not handling them."""
        self._add_fault(Fault("fail", method, route, n, status=status))

    def clear_faults(self) -> None:
        with self._records_lock:
            self.faults.clear()

    def _add_fault(self, fault: Fault) -> None:
        with self._records_lock:
            self.faults.append(fault)

    def take_fault(self, kind: str, method: str, route: str) -> Fault | None:
        with self._records_lock:
            for fault in self.faults:
                if fault.kind == kind and fault.matches(method, route):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self.faults.remove(fault)
                    return fault
        return None

    def record(self, request: RecordedRequest) -> None:
        with self._records_lock:
            self.requests.append(request)
            self.counts[f"{request.method} {request.route}"] += 1

    def count(self, method: str, route: str) -> int:
        """Requests received for `route` (a template such as `/stateful-runtime/runs/{run_id}/resume-plan`)."""
        with self._records_lock:
            return self.counts[f"{method} {route}"]

    def requests_to(self, method: str, route: str) -> list[RecordedRequest]:
        with self._records_lock:
            return [r for r in self.requests if r.method == method and r.route == route]

    def reset_records(self) -> None:
        with self._records_lock:
            self.requests.clear()
            self.counts.clear()

    # --- the dispatcher --------------------------------------------------------------------------
    def dispatch_now(self) -> int:
        """One dispatcher run at `now_ms()`; returns how many dead letters it acted on (0 on error)."""
        with self.lock:
            self.sweeps += 1
            try:
                return _sweep(self.root, self.now_ms())
            except Exception as exc:  # the engine logs dispatcher failures and carries on
                self.dispatch_errors.append(f"{type(exc).__name__}: {exc}")
                return 0

    def _tick(self) -> None:
        """The background tick; `dispatch_interval_s` may be set or cleared while serving."""
        last = time.monotonic()
        while not self._stop.wait(0.01):
            interval = self.dispatch_interval_s
            if interval is None:
                last = time.monotonic()
            elif time.monotonic() - last >= interval:
                self.dispatch_now()
                last = time.monotonic()

    # --- lifecycle -------------------------------------------------------------------------------
    def start(self) -> "FakeEngine":
        from tests.remote.fake_engine_http import make_handler  # the routes import this module

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), make_handler(self))
        self._server.daemon_threads = True
        self._stop.clear()
        self._started_monotonic = time.monotonic()
        serve = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        tick = threading.Thread(target=self._tick, daemon=True)
        self._threads = [serve, tick]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []
        self._server = None

    def __enter__(self) -> "FakeEngine":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def fake_engine(root: Path, **options: Any) -> Iterator[FakeEngine]:
    """`with fake_engine(tmp_path, version="0.7.2") as engine: ...`"""
    with FakeEngine(root, **options) as engine:
        yield engine


def append_line(path: Path, line: bytes) -> None:
    """Append one JSONL line durably (the recovery-choice event log)."""
    with open(path, "ab") as handle:
        handle.write(line + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
