"""The running engine as a store, through its HTTP API (spec 06, spec 01 §12–§13): reads page
through `GET /stateful-runtime/reliability`, writes are resume-plan POSTs (`live_writer.py`).

Server-side: status (one), run_id, source_type, active_recovery_only, the cursor, limit ≤ 1000 per
page. Client-side, after paging: several statuses, --since, --older-than, --reason-match, tenant.
"""

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from tandemctl.engine.audit_chain import AuditVerification
from tandemctl.engine.counting import GroupKey, count_elsewhere, count_matching
from tandemctl.engine.query import DeadLetterQuery, Page, list_dead_letters, normalize_filter
from tandemctl.engine.rows import Row, compensations_targeting
from tandemctl.engine.sweep_plan import SweepOutcome
from tandemctl.errors import EngineError, EngineLiveError, NotFoundError
from tandemctl.fs import locks
from tandemctl.remote.client import EngineClient, EngineIdentity
from tandemctl.remote.endpoint import engine_url_and_source
from tandemctl.remote.token import resolve_token
from tandemctl.stores import action_intent, audit_ledger
from tandemctl.stores.base import RowScope, StoreInfo, StoreSelection, SweepArgs
from tandemctl.stores.live_writer import LiveWriter
from tandemctl.stores.paths import StatePaths

RELIABILITY: Final = "/stateful-runtime/reliability"
PAGE_LIMIT: Final = 1000  # the API's clamp
COLLECTIONS: Final = ("outbox", "tool_effects", "dead_letters", "compensations")
NO_API: Final = "the engine's HTTP API has no choice that {what} (spec 01 §13.4); {instead}"
UNSUPPORTED: Final = (
    ("resolve", NO_API.format(what="marks a dead letter resolved", instead="park it instead (`tandemctl --live "
                              "dead-letters park`), or stop the engine and resolve it without --live")),
    ("reopen", NO_API.format(what="reopens a dead letter", instead="stop the engine and reopen it without --live "
                             "(a retry request, `tandemctl --live dead-letters retry`, also takes it out of ignored)")),
)
ANCHOR_NAME: Final = "tandemctl-live"
EMPTY_NOTE: Final = ("note: the engine at {url} lists no records at all; it answers exactly like this when its "
                     "reliability store is unreadable or corrupt (HTTP 200 with empty lists, spec 06 §4), and "
                     "neither its health nor its diagnostics tell the two apart: check the engine's log for "
                     "'stateful reliability store' warnings before trusting \"0 dead letters\"")


def open_live_store(paths: StatePaths, env: Mapping[str, str], selection: StoreSelection) -> "LiveStore":
    """Connect, identify the engine as Tandem and read its version (spec 06 §2.4)."""
    url, url_source = engine_url_and_source(env, selection.engine_url)
    client = EngineClient(url, resolve_token(env, selection.api_token_file), max_rps=selection.max_rps)
    try:
        identity = client.identify()
    except BaseException:
        client.close()
        raise
    return LiveStore(client, paths, env, identity, f"{selection.live_why or 'live mode'}; engine URL from "
                                                   f"{selection.engine_url_source or url_source}")


def user_state_dir(env: Mapping[str, str]) -> Path:
    """$XDG_STATE_HOME/tandemctl (default ~/.local/state/tandemctl): the journal when no data dir is here."""
    base = env.get("XDG_STATE_HOME", "").strip()
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".local" / "state"
    return root / "tandemctl"


@dataclass
class LiveStore:
    client: EngineClient
    paths: StatePaths
    env: Mapping[str, str]
    identity: EngineIdentity
    chosen: str
    notes: list[str] = field(default_factory=list)

    @property
    def info(self) -> StoreInfo:
        why = (f"{self.chosen}; Tandem {self.identity.version} (version from {self.identity.how}); "
               f"API {self.client.token}")
        return StoreInfo(kind="live", location=self.client.shown_url, why=why, engine_holds=True,
                         notes=tuple(self.notes), unsupported_actions=UNSUPPORTED, resets_retry_budget=False)

    @property
    def journal_file(self) -> Path:
        """The data dir's journal when that dir exists here (the engine's host), else a per-user file."""
        if self.paths.journal_file.parent.is_dir():
            return self.paths.journal_file
        return user_state_dir(self.env) / "live-journal.jsonl"

    @property
    def audit_file(self) -> Path:
        return self.paths.audit_file

    @property
    def intent_anchor(self) -> Path:
        return self.journal_file.with_name(ANCHOR_NAME)

    def pages(self, collection: str, params: Mapping[str, Any] | None = None) -> Iterator[Row]:
        """Every row of one collection, following only that collection's cursor (spec 06 §4)."""
        query: dict[str, Any] = {key: value for key, value in (params or {}).items() if value is not None}
        query.setdefault("limit", PAGE_LIMIT)
        while True:
            body = self.client.get(RELIABILITY, query).body
            rows, cursor = _page(body, collection, self.client.shown_url)
            yield from rows
            if not cursor or not rows:
                return
            query.update(after_id=cursor.get("after_id"), after_collection=collection)
            if cursor.get("before_created_at_ms") is not None:
                query["before_created_at_ms"] = cursor["before_created_at_ms"]

    def list_dead_letters(self, query: DeadLetterQuery) -> Page:
        params, local = _split(query)
        page = list_dead_letters(self.pages("dead_letters", params), local)
        if not page.rows:
            self._check_empty()
        if page.next_cursor is not None and query.before_created_at_ms is not None:
            page.next_cursor["before_created_at_ms"] = query.before_created_at_ms  # the engine's cursor shape
        return page

    def _check_empty(self) -> None:
        body = self.client.get(RELIABILITY, {"limit": 1}).body
        if isinstance(body, dict) and not any(body.get(name) for name in COLLECTIONS):
            note = EMPTY_NOTE.format(url=self.client.shown_url)
            if note not in self.notes:
                self.notes.append(note)

    def load_dead_letters(self, scope: RowScope | None = None) -> list[Row]:
        return list(self.pages("dead_letters"))

    def compensations_of(self, effect_id: str) -> list[Row]:
        return compensations_targeting(self.load_collection("compensations"), effect_id)

    def count_elsewhere(self, query: DeadLetterQuery) -> int:
        return count_elsewhere(self.load_dead_letters(), query)

    def count_dead_letters(self, query: DeadLetterQuery, by: Sequence[str]) -> dict[GroupKey, int]:
        # The engine filters what it can while paging; the rest (and the count) is done here.
        return count_matching(self.list_dead_letters(replace(query, limit=0)).rows, query, by)

    def load_collection(self, collection: str, keys: frozenset[str] | None = None) -> list[Row]:
        return list(self.pages(collection))

    def get_run(self, run_id: str) -> Row | None:
        """The run as the engine's resume plan shows it (spec 01 §13.3): the run projection with its
        checkpoint's node lists and last failure. Only runs the engine holds in memory; else None."""
        reply = self.client.get(f"/stateful-runtime/runs/{quote(run_id, safe='')}/resume-plan", ok=(200, 404))
        body = reply.body
        if reply.status == 404 or not isinstance(body, dict):
            return None
        run = dict(body.get("run") or {})
        run.setdefault("run_id", run_id)
        run["status"] = body.get("run_status", run.get("status"))
        run["checkpoint"] = {key: body.get(key) or [] for key in ("completed_nodes", "pending_nodes", "blocked_nodes")}
        run["checkpoint"]["last_failure"] = body.get("last_failure")
        return run

    def run_events(self, run_id: str | None, limit: int) -> list[Row]:
        """A run's stateful events (`GET …/runs/{id}/events?tail=`); the API lists no events across runs."""
        if run_id is None:
            return []
        params: dict[str, Any] = {"tail": "true", "limit": min(limit, 1000)} if limit else {}
        reply = self.client.get(f"/stateful-runtime/runs/{quote(run_id, safe='')}/events", params, ok=(200, 404))
        events = reply.body.get("events") if isinstance(reply.body, dict) else None
        return [event for event in events if isinstance(event, dict)] if isinstance(events, list) else []

    def fresh_dead_letter(self, run_id: str, dead_letter_id: str) -> Row | None:
        """The row as the engine holds it now (its run's rows, paged), or None."""
        for row in self.pages("dead_letters", {"run_id": run_id}):
            if row.get("dead_letter_id") == dead_letter_id:
                return row
        return None

    @contextmanager
    def writer(self, lock_timeout: float) -> Iterator[LiveWriter]:
        # The engine has no lock to take; tandemctl's own lock keeps two tandemctl writers' journal
        # intents apart (and the same host's offline writers never share the anchor).
        own = user_state_dir(self.env)
        if self.intent_anchor.parent == own:
            own.mkdir(parents=True, exist_ok=True)  # tandemctl's own state dir, not one of the engine's
        with locks.exclusive_lock(self.intent_anchor, lock_timeout):
            yield LiveWriter(self, self.intent_anchor)

    def pending_operation(self) -> tuple[str, Path] | None:
        pending = action_intent.pending_operation(self.intent_anchor)
        return None if pending is None else (pending, action_intent.intent_path(self.intent_anchor))

    def sweep(self, args: SweepArgs) -> SweepOutcome:
        raise EngineLiveError(f"sweep does not run in live mode: the engine at {self.client.shown_url} runs the "
                              "dead-letter dispatcher itself every second; request retries with "
                              "`tandemctl --live dead-letters retry` and let it dispatch them")

    def verify_audit(self) -> AuditVerification:
        if not self.paths.audit_file.exists():
            raise NotFoundError(f"{self.paths.audit_file}: no local audit ledger; the engine's HTTP API does not "
                                "serve it: run `tandemctl audit verify` on the engine's host (--state-dir)")
        return audit_ledger.verify_audit_ledger(self.paths.audit_file)


def _split(query: DeadLetterQuery) -> tuple[dict[str, Any], DeadLetterQuery]:
    """(what the API filters, what is left to filter here). The cursor goes to the API only."""
    statuses = {s for s in (normalize_filter(v) for v in query.statuses) if s is not None}
    params: dict[str, Any] = {
        "status": next(iter(statuses)) if len(statuses) == 1 else None, "run_id": query.run_id,
        "source_type": query.source_type, "active_recovery_only": "true" if query.active_only else None,
    }
    if query.after_id is not None and query.after_id.strip():
        params.update(after_id=query.after_id, after_collection="dead_letters")
    if query.before_created_at_ms is not None:
        params["before_created_at_ms"] = query.before_created_at_ms
    local_only = len(statuses) > 1 or query.created_after_ms is not None or query.created_before_ms is not None \
        or query.reason_pattern is not None
    if 0 < query.limit < PAGE_LIMIT and not local_only:
        params["limit"] = query.limit + 1  # one more tells the local pager whether a next page exists
    return params, replace(query, after_id=None, before_created_at_ms=None)


def _page(body: Any, collection: str, url: str) -> tuple[list[Row], Row | None]:
    if not isinstance(body, dict) or not isinstance(body.get(collection), list):
        raise EngineError(f"{url}{RELIABILITY}: the answer has no {collection!r} list")
    rows = [row for row in body[collection] if isinstance(row, dict)]
    pagination = body.get("pagination")
    nexts = pagination.get("next") if isinstance(pagination, dict) else None
    cursor = nexts.get(collection) if isinstance(nexts, dict) else None
    return rows, cursor if isinstance(cursor, dict) else None
