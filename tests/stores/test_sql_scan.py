"""The engine's order read from a real SQLite store: top-N scans on several connections at once
(rowid ranges), the second, larger scan, the streamed rest, and the payloads fetched by rowid
all give exactly the order of a single `ORDER BY updated_at_ms DESC, rowid ASC`."""

import random

import pytest

from tandemctl.engine.query import DeadLetterQuery
from tandemctl.stores.db_schema import DEAD_LETTERS
from tandemctl.stores.sql_scan import merge_top, rowid_ranges, workers_for
from tandemctl.stores.sql_store import SqlStore
from tests.conftest import StateDir
from tests.factories import dead_letter
from tests.stores.store_kinds import Seeded, seed

STATUSES = ("open", "retry_requested", "ignored", "resolved")


def seeded_store(state: StateDir, count: int = 240) -> Seeded:
    rng = random.Random(7)
    rows = [dead_letter(f"dl-{index:04d}", status=rng.choice(STATUSES), created=1000 + index,
                        updated=rng.choice((5000, 5000, 6000)) + rng.randrange(40),  # many ties
                        source_type=rng.choice(("tool_effect", "stateful_wait")))
            for index in range(count)]
    rng.shuffle(rows)  # rowid order unrelated to the engine's order
    return seed("sqlite", state, rows)


def sql_store(seeded: Seeded, *, parallel: bool) -> SqlStore:
    store = seeded.store()
    assert isinstance(store, SqlStore)
    store.parallel_min_rowids = 0 if parallel else 10**12
    return store


def engine_order(seeded: Seeded, where: str = "1=1") -> list[str]:
    return [key for (key,) in seeded.query(
        f"SELECT dead_letter_id FROM dead_letters WHERE {where} ORDER BY updated_at_ms DESC, rowid ASC")]


def test_merge_top_takes_the_newest_then_the_lowest_rowid() -> None:
    assert merge_top([[(5, 10), (1, 9)], [(2, 10), (7, 11)]], 3) == [(7, 11), (2, 10), (5, 10)]


def test_rowid_ranges_cover_every_rowid_once() -> None:
    ranges = rowid_ranges(3, 1002, 3)
    covered = [rowid for low, high in ranges for rowid in range(low, high)]
    assert covered == list(range(3, 1003))


def test_workers_one_for_a_small_table_or_one_core() -> None:
    assert workers_for(10, min_rowids=100, cpus=8) == 1
    assert workers_for(1000, min_rowids=100, cpus=1) == 1
    assert workers_for(1000, min_rowids=100, cpus=2) == 2
    assert workers_for(1000, min_rowids=100, cpus=64) == 4


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("first_batch", [1, 5, 37, 500])
def test_every_row_once_in_the_engine_order(state: StateDir, parallel: bool, first_batch: int) -> None:
    seeded = seeded_store(state)
    store = sql_store(seeded, parallel=parallel)
    listed = [row["dead_letter_id"] for row in store.rows(DEAD_LETTERS, first_batch=first_batch)]
    assert listed == engine_order(seeded)


@pytest.mark.parametrize("parallel", [False, True])
def test_pages_filters_and_cursor_match_one_ordered_query(state: StateDir, parallel: bool) -> None:
    seeded = seeded_store(state)
    store = sql_store(seeded, parallel=parallel)
    expected = engine_order(seeded, "status = 'open'")
    page = store.list_dead_letters(DeadLetterQuery(statuses=("open",), limit=10))
    assert [row["dead_letter_id"] for row in page.rows] == expected[:10]
    assert page.next_cursor is not None
    following = store.list_dead_letters(DeadLetterQuery(statuses=("open",), limit=10,
                                                        after_id=page.next_cursor["after_id"]))
    assert [row["dead_letter_id"] for row in following.rows] == expected[10:20]
    # A payload filter (source type) drops rows after decoding: the page still fills, in order.
    waits = [key for key in expected if seeded.records()[key]["source_type"] == "stateful_wait"]
    filtered = store.list_dead_letters(DeadLetterQuery(statuses=("open",), source_type="stateful_wait", limit=4))
    assert [row["dead_letter_id"] for row in filtered.rows] == waits[:4]
    everything = store.list_dead_letters(DeadLetterQuery(statuses=("open",), limit=0))
    assert [row["dead_letter_id"] for row in everything.rows] == expected
