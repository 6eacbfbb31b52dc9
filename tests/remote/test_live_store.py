"""The live store below the CLI: the per-row re-read before a POST (the API's compare-and-set),
store info, and the one place a write command hints at --live. Real sockets, the fake engine."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tandemctl.commands.action_results import Plan
from tandemctl.commands.execute import write_planned
from tandemctl.engine.rows import Row, RowChange
from tandemctl.errors import EngineLiveError
from tandemctl.stores.base import PartialApply, StoreSelection
from tandemctl.stores.live_store import LiveStore, open_live_store
from tandemctl.stores.paths import resolve_state_paths
from tests.remote.fake_engine import FakeEngine
from tests.remote.live_helpers import TOKEN, seed

Factory = Callable[..., FakeEngine]


@pytest.fixture
def store(engine_factory: Factory, tmp_path: Path) -> Iterator[LiveStore]:
    engine = engine_factory(token=TOKEN)
    seed(engine)
    paths = resolve_state_paths({}, state_dir=str(tmp_path / "state"))
    selection = StoreSelection(live=True, live_why="--live", engine_url=engine.url, engine_url_source="--engine-url")
    opened = open_live_store(paths, {"TANDEM_API_TOKEN": TOKEN, "HOME": str(tmp_path)}, selection)
    yield opened
    opened.client.close()


def test_info_says_live_where_and_why(store: LiveStore) -> None:
    info = store.info
    assert info.kind == "live" and info.location == store.client.url and info.engine_holds is True
    assert info.why.startswith("--live; engine URL from --engine-url; Tandem 0.6.6")
    assert TOKEN not in repr(info) and TOKEN not in repr(store.client.token)
    assert dict(info.unsupported_actions).keys() == {"resolve", "reopen"} and not info.resets_retry_budget


def test_a_row_that_moved_since_it_was_read_is_refused_and_not_sent(store: LiveStore) -> None:
    [row] = [r for r in store.load_dead_letters() if r["dead_letter_id"] == "dead-open"]
    stale = {**row, "updated_at_ms": 1}  # what the plan saw is no longer what the engine holds
    after = {**stale, "status": "ignored", "disposition_reason": "x"}
    with store.writer(1.0) as writer, pytest.raises(PartialApply) as caught:
        writer.apply([RowChange("dead_letters", "dead-open", stale, after)])
    [failure] = caught.value.failures
    assert failure.kind == "refused" and "changed on the engine since it was read" in failure.reason
    assert caught.value.written == []


def test_write_planned_journals_what_the_engine_wrote(store: LiveStore) -> None:
    from tandemctl.commands.action_plan import plan_action
    from tandemctl.commands.action_rules import RULES

    def plan_rows(current: list[Row]) -> Plan:
        return plan_action(current, rule=RULES["park"], ids=("dead-open",), query=None, tenant=None, force=False,
                           reason="r", actor="bob", now_ms=1, resets_budget=False)

    plan = write_planned(store, plan_rows, lambda p: {"operation_id": "op-1", "rows": []}, lock_timeout=1.0)
    [result] = plan.changed
    assert result.after is not None and result.after["disposition_at_ms"] != 1  # the engine's clock, not ours
    assert result.after["status"] == "ignored"


class _LockedStore:
    """A store whose writer reports the engine holding it, as a 0.6.9+ database store does; no such
    store exists in this build yet, so this stand-in raises exactly that store's error."""

    info = None

    @contextmanager
    def writer(self, lock_timeout: float) -> Iterator[None]:
        raise EngineLiveError("the engine lock /x/stateful_runtime.engine.lock is held")
        yield


def test_a_write_refused_because_an_engine_is_live_mentions_live() -> None:
    with pytest.raises(EngineLiveError) as caught:
        write_planned(_LockedStore(), lambda rows: Plan(), lambda plan: {}, lock_timeout=0.1)  # type: ignore[arg-type]
    assert "is held; to act while the engine runs, go through its HTTP API: tandemctl --live" in caught.value.message
