"""Database-store benchmarks (0.6.9+ SQLite / PostgreSQL stores), driven by `run.py --store ...`.

Times what an operator types against a store of N dead letters: the first table page, a filtered
`-o json` page, counts by status (`dead-letters count`), and a bulk park of ~10,000 rows picked by a
selector. A build
without the database store is detected by asking it for one row of the generated store, and
reported as "store not available in this build" instead of timing the JSON store on an empty dir.
"""

import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

from benchmarks.generate import generate_database
from tandemctl.stores import db_schema as s

PARK_ROWS = 10_000
NOT_AVAILABLE = "store not available in this build"


def _tandemctl(root: Path, backend: str, url: str | None, *args: str) -> list[str]:
    argv = [sys.executable, "-m", "tandemctl", "--state-dir", str(root), "--storage-backend", backend]
    return argv + (["--postgres-url", url] if url else []) + list(args)


def store_available(argv: Sequence[str], env: dict[str, str]) -> bool:
    """True when this build reads the database store: it lists at least one of its dead letters."""
    done = subprocess.run(argv, env=env, capture_output=True)
    if done.returncode != 0:
        return False
    try:
        return bool(orjson.loads(done.stdout)["data"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return False


def park_since_ms(root: Path, backend: str, url: str | None, schema: str, now_ms: int) -> int:
    """A `--since` window (ms) that selects about PARK_ROWS open dead letters (newest created)."""
    query = ("SELECT created FROM (SELECT {created} AS created FROM {table} WHERE status = 'open') AS t "
             f"ORDER BY created DESC LIMIT 1 OFFSET {PARK_ROWS - 1}")
    if backend == "sqlite":
        connection = sqlite3.connect(f"file:{root / 'data' / s.SQLITE_FILE}?mode=ro", uri=True)
        try:
            sql = query.format(created="json_extract(record_json, '$.payload.created_at_ms')",
                               table="dead_letters")
            row = connection.execute(sql).fetchone()
        finally:
            connection.close()
    else:
        import psycopg
        with psycopg.connect(url or "") as connection:
            sql = query.format(created="((record_json::jsonb)->'payload'->>'created_at_ms')::bigint",
                               table=f"{schema}.dead_letters")
            row = connection.execute(sql).fetchone()  # type: ignore[call-overload]
    if row is None:  # fewer open rows than PARK_ROWS: park them all
        return now_ms
    return now_ms - int(row[0])


def bench_db(n: int, work: Path, repeat: int, *, backend: str, url: str | None, env: dict[str, str],
             now_ms: int, measure: Callable[..., Any]) -> dict[str, object]:
    schema = f"tandem_bench_{n}"
    root = work / f"{backend}-{n}"
    marker = root / "data" / (s.SQLITE_FILE if backend == "sqlite" else s.PG_SCHEMA_MARKER_FILE)
    if not marker.exists():
        generate_database(root, store=backend, dead_letters=n, now_ms=now_ms, postgres_url=url, schema=schema)
    results: dict[str, object] = {"store": backend, "dead_letters": n}
    if not store_available(_tandemctl(root, backend, url, "--all-tenants", "-o", "json", "dead-letters", "list",
                                      "--limit", "1"), env):
        results["note"] = NOT_AVAILABLE
        return results
    first_page = measure(lambda _: _tandemctl(root, backend, url, "--all-tenants", "dead-letters", "list"),
                         repeat, env=env)
    filtered = measure(lambda _: _tandemctl(root, backend, url, "--all-tenants", "-o", "json", "dead-letters",
                                            "list", "--status", "retry_requested", "--source-type",
                                            "tool_effect", "--limit", "250"), repeat, env=env)
    counts = measure(lambda _: _tandemctl(root, backend, url, "--all-tenants", "dead-letters", "count"), repeat,
                     env=env)
    since = f"{park_since_ms(root, backend, url, schema, now_ms)}ms"
    park_args = ("--all-tenants", "-o", "json", "dead-letters", "park", "--status", "open", "--since", since,
                 "--reason", "bench", "--yes")
    pristine = root / "data" / s.SQLITE_FILE
    spare = work / f"{backend}-{n}.pristine.sqlite3"

    def fresh_copy() -> None:
        if backend == "sqlite":  # the park writes: every run starts from the generated file
            if not spare.exists():
                shutil.copyfile(pristine, spare)
            shutil.copyfile(spare, pristine)

    # PostgreSQL cannot be reset cheaply: its park runs once, on the generated rows.
    park = measure(lambda _: _tandemctl(root, backend, url, *park_args), repeat if backend == "sqlite" else 1,
                   env=env, before=fresh_copy)
    fresh_copy()
    results.update({"first_page_s": first_page.median, "first_page_rss_kb": first_page.max_rss_kb,
                    "filtered_json_s": filtered.median, "counts_s": counts.median,
                    "park_s": park.median, "park_selector": f"--status open --since {since}"})
    return results


def report_db(rows: list[dict[str, object]]) -> str:
    lines = ["| store | dead letters | first page (s) | filtered -o json page (s) | counts by status (s) | "
             f"bulk park ~{PARK_ROWS:,} (s) | first-page RSS (MB) |", "|" + "---|" * 7]
    for r in rows:
        if "note" in r:
            lines.append(f"| {r['store']} | {r['dead_letters']:,} | {r['note']} | | | | |")
            continue
        lines.append(f"| {r['store']} | {r['dead_letters']:,} | {r['first_page_s']:.3f} | "
                     f"{r['filtered_json_s']:.3f} | {r['counts_s']:.3f} | {r['park_s']:.3f} | "
                     f"{int(r['first_page_rss_kb']) / 1024:.0f} |")  # type: ignore[call-overload]
    return "\n".join(lines)
