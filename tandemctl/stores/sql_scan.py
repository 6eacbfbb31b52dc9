"""Reading a reliability table in the engine's order (`updated_at_ms` descending, then `rowid`).

The engine's schema has no index on `updated_at_ms`, and tandemctl runs no DDL, so the order costs
a scan of the table. Two things keep that scan cheap: it selects only `(rowid, updated_at_ms)`
(the sorter never carries a payload), and on SQLite a large table is scanned as a few `rowid`
ranges on their own connections at once (sqlite3 releases the GIL while it steps), the top-N of
each merged here. The payloads of just the rows wanted are then fetched by `rowid`."""

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

Key = tuple[int, int, str]  # (rowid, updated_at_ms, the row's primary key)
# Below this many rowids one scan is quicker than starting connections and threads.
PARALLEL_MIN_ROWIDS: Final = 100_000
MAX_WORKERS: Final = 4
FETCH_BATCH: Final = 500  # rowids per `IN (...)` fetch (well under SQLite's variable limit)
ORDER: Final = "ORDER BY updated_at_ms DESC, rowid ASC"


def key_query(table: str, id_column: str, where: str, limit: int | None) -> str:
    return f"SELECT rowid, updated_at_ms, {id_column} FROM {table} WHERE {where} {ORDER}" + (
        "" if limit is None else f" LIMIT {int(limit)}")


def merge_top(parts: Sequence[Sequence[Key]], limit: int) -> list[Key]:
    """The first `limit` keys in the engine's order, from the top-N of disjoint parts."""
    merged = sorted((key for part in parts for key in part), key=lambda key: (-key[1], key[0]))
    return merged[:limit]


def rowid_ranges(low: int, high: int, parts: int) -> list[tuple[int, int]]:
    """`parts` half-open ranges covering [low, high] (rowids of one table)."""
    span = high - low + 1
    bounds = [low + span * index // parts for index in range(parts)] + [high + 1]
    return [(bounds[index], bounds[index + 1]) for index in range(parts)]


def workers_for(span: int, *, min_rowids: int = PARALLEL_MIN_ROWIDS, cpus: int | None = None) -> int:
    """How many ranges to scan at once: one per core (at most MAX_WORKERS), one for a small table."""
    available = cpus if cpus is not None else (os.cpu_count() or 1)
    if span < min_rowids or available < 2:
        return 1
    return min(available, MAX_WORKERS)


def parallel_fetch(connect: Callable[[], Any], text: str, params: tuple[Any, ...],
                   ranges: Sequence[tuple[int, int]]) -> list[list[tuple[Any, ...]]]:
    """`text` (ending in a `rowid >= ? AND rowid < ?` condition) run once per range, each on its own
    connection in its own thread; the results in range order."""

    def run(bounds: tuple[int, int]) -> list[tuple[Any, ...]]:
        connection = connect()
        try:
            return list(connection.execute(text, (*params, *bounds)).fetchall())
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(ranges)) as pool:
        return list(pool.map(run, ranges))


def parallel_top_keys(connect: Callable[[], Any], sql: Callable[[str], str], table: str, id_column: str,
                      where: str, params: tuple[Any, ...], limit: int, ranges: Sequence[tuple[int, int]]) -> list[Key]:
    """The top-N keys: each rowid range's top-N, merged."""
    ranged = sql(key_query(table, id_column, f"({where}) AND rowid >= ? AND rowid < ?", limit))
    parts = parallel_fetch(connect, ranged, params, ranges)
    return merge_top([as_keys(part) for part in parts], limit)


def as_keys(found: Sequence[Sequence[Any]]) -> list[Key]:
    return [(int(rowid), int(updated), str(key)) for rowid, updated, key in found]


def fetch_by_key(fetch: Callable[[str, tuple[Any, ...]], list[tuple[Any, ...]]], select: str, keys: Sequence[Key],
                 *, column: str) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of `keys` in batches, in the order of `keys` (a row gone since its key was read is
    skipped), looked up by `rowid` (SQLite's table key) or else by the primary key `column` (on
    PostgreSQL `rowid` is a plain column without an index). Selected rows start (rowid, id, ...)."""
    by_rowid = column == "rowid"
    for start in range(0, len(keys), FETCH_BATCH):
        wanted = [key[0] if by_rowid else key[2] for key in keys[start:start + FETCH_BATCH]]
        text = f"{select} WHERE {column} IN ({', '.join('?' * len(wanted))})"
        found = {values[0 if by_rowid else 1]: values for values in fetch(text, tuple(wanted))}
        yield [found[key] for key in wanted if key in found]
