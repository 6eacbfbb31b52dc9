"""Live writes: each planned `RowChange` becomes one `POST /stateful-runtime/runs/{run_id}/resume-plan`
(spec 01 §13.4), after a fresh read of the row (the closest the API allows to a compare-and-set).

Target `retry_requested` → choice `retry_dead_letter`, `ignored` → `ignore_dead_letter`; nothing else
has a choice. Rows go out from a small worker pool, each POST through the client's rate limit.
A POST is never retried: when the answer is lost the row is re-read and reported as unknown.
"""

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import quote

from tandemctl.engine.dispositions import dead_letter_retry_dispatch_count
from tandemctl.engine.rows import Row, RowChange
from tandemctl.errors import AuthError, EngineError, EngineStartingError
from tandemctl.remote.client import NotSent, OutcomeUnknown
from tandemctl.stores.base import PartialApply, RowFailure, RowScope

if TYPE_CHECKING:
    from tandemctl.stores.live_store import LiveStore

CHOICES: Final = {"retry_requested": "retry_dead_letter", "ignored": "ignore_dead_letter"}
WORKERS: Final = 4
EXHAUSTED_AT: Final = 5  # mirrors the dispatcher's cap check (spec 01 §11.3 step 4)
_FATAL: Final = (AuthError, EngineStartingError)  # every other row would fail the same way


class LiveWriter:
    def __init__(self, store: "LiveStore", anchor: Path) -> None:
        self.store, self.anchor = store, anchor

    @property
    def intent_anchor(self) -> Path:
        return self.anchor

    def dead_letters(self, scope: RowScope | None = None) -> list[Row]:
        return self.store.load_dead_letters(scope)

    def apply(self, changes: Sequence[RowChange], *, skip_conflicts: bool = False) -> list[RowChange]:
        """POST every change (bounded concurrency); PartialApply when any was not confirmed."""
        with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="tandemctl-post") as pool:
            results = list(pool.map(self._apply_one, changes))
        written = [r for r in results if isinstance(r, RowChange)]
        failures = [r for r in results if isinstance(r, RowFailure)]
        if failures:
            raise PartialApply(written, failures)
        return written

    def _apply_one(self, change: RowChange) -> RowChange | RowFailure:
        try:
            return self._send(change)
        except _FATAL:
            raise
        except EngineError as exc:
            return RowFailure(change.key, "refused", exc.message)

    def _send(self, change: RowChange) -> RowChange | RowFailure:
        before, planned = change.before or {}, change.after or {}
        target = str(planned.get("status"))
        choice = CHOICES.get(target)
        if choice is None:
            return RowFailure(change.key, "refused", f"the engine's HTTP API has no choice that sets status "
                              f"{target!r}; stop the engine and do this without --live")
        run_id = before.get("run_id")
        if not isinstance(run_id, str) or not run_id:
            return RowFailure(change.key, "refused", "it has no run_id, and the API acts on a dead letter only "
                              "through its run; stop the engine and do this without --live")
        fresh = self.store.fresh_dead_letter(run_id, change.key)
        if fresh is None:
            return RowFailure(change.key, "not_found", "no longer listed by the engine")
        if fresh != before:
            return RowFailure(change.key, "refused", f"changed on the engine since it was read (status now "
                              f"{fresh.get('status')!r}); nothing sent, run the command again")
        path = f"/stateful-runtime/runs/{quote(run_id, safe='')}/resume-plan"
        try:
            reply = self.store.client.post(path, _body(choice, change.key, planned))
        except NotSent as exc:
            return RowFailure(change.key, "refused", f"not sent: {exc}")
        except OutcomeUnknown as exc:
            return RowFailure(change.key, "unknown", self._reread(run_id, change.key, f"{exc} after the request "
                                                                                     "was sent; not retried"))
        if reply.status == 200:
            echoed = reply.body.get("disposition") if isinstance(reply.body, dict) else None
            after = echoed.get("dead_letter") if isinstance(echoed, dict) else None
            if choice == "retry_dead_letter" and dead_letter_retry_dispatch_count(before) >= EXHAUSTED_AT:
                # A forced retry of a spent row: the dispatcher that ran before the reply has parked it
                # again; report the row as it is now, not as the echo of the request.
                after = self.store.fresh_dead_letter(run_id, change.key) or after
            return RowChange(change.collection, change.key, before, after if isinstance(after, dict) else planned)
        error = reply.body.get("error") if isinstance(reply.body, dict) else None
        if reply.status == 404 and error == "stateful_dead_letter_not_found":
            return RowFailure(change.key, "not_found", "the engine no longer has it")
        if reply.status == 404 and error == "stateful_run_not_found":
            return RowFailure(change.key, "refused", f"run {run_id!r} is not in the engine's memory (finished runs "
                              "leave it after the retention period) and the API acts only through a live run; "
                              "stop the engine and do this without --live")
        if reply.status in (401, 403, 503):
            self.store.client.raise_for(path, reply)
        return RowFailure(change.key, "refused",
                          f"the engine refused it: HTTP {reply.status}: {_error_text(reply.body)}")

    def _reread(self, run_id: str, key: str, what: str) -> str:
        try:
            now = self.store.fresh_dead_letter(run_id, key)
        except EngineError as exc:
            return f"{what}; re-reading the row failed too ({exc.message})"
        if now is None:
            return f"{what}; a re-read no longer finds it"
        return (f"{what}; a re-read finds it {now.get('status')!r} (disposition {now.get('operator_disposition')!r}, "
                f"reason {now.get('disposition_reason')!r})")


def _body(choice: str, key: str, planned: Row) -> dict[str, str]:
    """The choice, the dead letter, and the planned row's reason and actor (never tenant headers)."""
    body = {"choice": choice, "dead_letter_id": key}
    reason = planned.get("disposition_reason")
    if isinstance(reason, str):
        body["reason"] = reason
    actor = planned.get("disposition_actor")
    if isinstance(actor, dict) and isinstance(actor.get("id"), str):
        body["actor_id"] = actor["id"]
    return body


def _error_text(body: object) -> str:
    if isinstance(body, dict):
        return ": ".join(str(body[k]) for k in ("error", "code", "message") if body.get(k)) or "(no details)"
    return str(body).strip()[:200] or "(empty body)"
