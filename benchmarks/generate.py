"""Deterministic generator of a realistic Tandem 0.6.6 data dir for tests and benchmarks.

    python benchmarks/generate.py OUT_DIR --dead-letters N [--seed S] [--now-ms MS]
                                          [--retry-fraction F] [--tenants T]
                                          [--store json|sqlite|postgres [--postgres-url URL]]

writes OUT_DIR/data/..., so that TANDEM_STATE_DIR=OUT_DIR resolves to it. Same arguments give
byte-identical files: all randomness comes from `random.Random(seed)`, never from the clock.
`--store sqlite` writes the same kind of records into OUT_DIR/data/stateful_runtime.sqlite3 (a
0.6.9+ store, schema v5) instead; `--store postgres` loads them into a new schema of the database
at --postgres-url (or TANDEM_STORAGE_POSTGRES_URL) and writes the schema marker.
"""

import argparse
import os
import random
import shutil
import sys
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._catalog import build_tenants
from benchmarks._categories import CATEGORIES, PASSENGERS, WEIGHTS
from benchmarks._definitions import random_automation
from benchmarks._planner import Plan, Planner
from benchmarks._runs import RunPlan
from benchmarks._writer import (
    DEFINITIONS_DIR,
    RELIABILITY_FILE,
    RUNS_FILE,
    SHARDS_DIR,
    write_state,
)

DEFAULT_NOW_MS = 1_795_737_600_000  # 2026-11-27T00:00:00Z
WAIT_FRACTION = 0.03


@dataclass(frozen=True)
class GeneratedState:
    root: Path
    data_dir: Path
    reliability_file: Path
    runs_file: Path
    shards_dir: Path
    definitions_dir: Path
    seed: int
    now_ms: int
    dead_letters: int
    wait_dead_letters: int
    outbox: int
    tool_effects: int
    compensations: int
    runs: int
    hot_runs: int
    shard_only_runs: int
    definitions: int
    retry_candidates: int  # retry_requested rows a sweep at now_ms dispatches, one run each
    expected_resolutions: int  # retrying rows with a complete superseded marker
    expected_exhaustions: int  # retrying rows with retry_dispatch_count 5
    in_backoff: int
    status_counts: Mapping[str, int]
    category_counts: Mapping[str, int]
    retry_candidate_ids: tuple[str, ...]
    dangling_ids: tuple[str, ...]  # dead letters whose run_id names no run at all


def allocate(total: int, weights: Mapping[str, int]) -> dict[str, int]:
    """Split `total` by weight with the largest-remainder rule (deterministic, sums exactly)."""
    weight_sum = sum(weights.values())
    shares = {name: total * weight / weight_sum for name, weight in weights.items()}
    counts = {name: int(share) for name, share in shares.items()}
    by_remainder = sorted(weights, key=lambda name: counts[name] - shares[name])
    for name in by_remainder[: total - sum(counts.values())]:
        counts[name] += 1
    return counts


def _dead_letter(planner: Planner, run: RunPlan, category: str) -> None:
    CATEGORIES[category](planner, run, planner.failed_action(run))
    planner.plan.categories[category] += 1


def plan_state(*, dead_letters: int, seed: int, now_ms: int, retry_fraction: float,
               tenants: int) -> Plan:
    rng = random.Random(seed)
    tenant_list = build_tenants(tenants)
    count = max(2 * len(tenant_list), min(64, len(tenant_list) + dead_letters // 250))
    automations = [random_automation(rng, index, tenant_list[index % len(tenant_list)], now_ms)
                   for index in range(count)]
    planner = Planner(rng, now_ms, automations)
    waits = round(dead_letters * WAIT_FRACTION)
    candidates = min(round(dead_letters * retry_fraction), dead_letters - waits)
    counts = allocate(dead_letters - waits - candidates, WEIGHTS)
    pool = [category for category in PASSENGERS for _ in range(counts[category])]
    rng.shuffle(pool)
    for _ in range(candidates):
        run = planner.failed_run()
        _dead_letter(planner, run, "candidate")
        if pool and rng.random() < 0.3:
            _dead_letter(planner, run, pool.pop())
    while pool:
        run = planner.failed_run()
        for _ in range(min(len(pool), rng.choice((1, 2, 2, 3)))):
            _dead_letter(planner, run, pool.pop())
    for category, number in counts.items():
        for _ in range(0 if category in PASSENGERS else number):
            _dead_letter(planner, planner.failed_run(register=category != "dangling"), category)
    for _ in range(waits):
        planner.wait_dead_letter()
    for _ in range(max(2, dead_letters // 20)):
        planner.clean_run()
    return planner.plan


def generate_state(root: Path, *, dead_letters: int, seed: int = 7,
                   now_ms: int = DEFAULT_NOW_MS, retry_fraction: float = 0.10, tenants: int = 4,
                   compact_hot: bool = False, overwrite: bool = False) -> GeneratedState:
    """Write `root/data/` and describe what was written.

    `compact_hot` strips `automation_snapshot` from terminal hot runs, as the server's persist
    does; by default every run keeps it. `overwrite` replaces an existing `root/data/`.
    """
    if dead_letters < 0 or not 0.0 <= retry_fraction <= 1.0:
        raise ValueError("dead_letters must be >= 0 and retry_fraction within [0, 1]")
    data_dir = root / "data"
    if data_dir.exists() and any(data_dir.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{data_dir} is not empty")
        shutil.rmtree(data_dir)
    plan = plan_state(dead_letters=dead_letters, seed=seed, now_ms=now_ms,
                      retry_fraction=retry_fraction, tenants=tenants)
    summary = write_state(data_dir, automations=plan.automations, runs=plan.runs,
                          actions=plan.actions, waits=plan.waits, now_ms=now_ms,
                          compact_hot=compact_hot)
    statuses = Counter(action.dead_letter.status for action in plan.actions if action.dead_letter)
    statuses.update(wait.dead_letter.status for wait in plan.waits)
    return GeneratedState(
        root=root, data_dir=data_dir, reliability_file=data_dir / RELIABILITY_FILE,
        runs_file=data_dir / RUNS_FILE, shards_dir=data_dir / SHARDS_DIR,
        definitions_dir=data_dir / DEFINITIONS_DIR, seed=seed, now_ms=now_ms,
        dead_letters=summary.dead_letters, wait_dead_letters=len(plan.waits),
        outbox=summary.outbox, tool_effects=summary.tool_effects,
        compensations=summary.compensations, runs=summary.shard_runs,
        hot_runs=summary.hot_runs, shard_only_runs=summary.shard_runs - summary.hot_runs,
        definitions=summary.definitions, retry_candidates=len(plan.candidate_ids),
        expected_resolutions=plan.categories["superseded"],
        expected_exhaustions=plan.categories["exhausted"], in_backoff=plan.categories["backoff"],
        status_counts=dict(sorted(statuses.items())),
        category_counts=dict(sorted(plan.categories.items())),
        retry_candidate_ids=tuple(plan.candidate_ids), dangling_ids=tuple(plan.dangling_ids))


def generate_database(root: Path, *, store: str, dead_letters: int, seed: int = 7,
                      now_ms: int = DEFAULT_NOW_MS, retry_fraction: float = 0.10, tenants: int = 4,
                      postgres_url: str | None = None, schema: str = "tandem_bench") -> dict[str, int]:
    """Load a database store under `root/data/`; returns the row count of each collection."""
    from benchmarks import _database

    def plan_batch(size: int, batch_seed: int) -> Plan:
        return plan_state(dead_letters=size, seed=batch_seed, now_ms=now_ms,
                          retry_fraction=retry_fraction, tenants=tenants)

    plans = _database.batches(dead_letters, seed, plan_batch)
    data_dir = root / "data"
    if store == "sqlite":
        return _database.load_sqlite(data_dir, plans).counts
    if not postgres_url:
        raise ValueError("--store postgres needs --postgres-url (or TANDEM_STORAGE_POSTGRES_URL)")
    return _database.load_postgres(data_dir, plans, postgres_url, schema).counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="state dir; files go to OUT_DIR/data/")
    parser.add_argument("--dead-letters", type=int, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--now-ms", type=int, default=DEFAULT_NOW_MS)
    parser.add_argument("--retry-fraction", type=float, default=0.10)
    parser.add_argument("--tenants", type=int, default=4)
    parser.add_argument("--compact-hot", action="store_true",
                        help="strip automation_snapshot from terminal hot runs")
    parser.add_argument("--force", action="store_true", help="replace an existing OUT_DIR/data")
    parser.add_argument("--store", choices=("json", "sqlite", "postgres"), default="json")
    parser.add_argument("--postgres-url", default=os.environ.get("TANDEM_STORAGE_POSTGRES_URL"))
    parser.add_argument("--postgres-schema", default="tandem_bench")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.store != "json":
        try:
            counts = generate_database(args.out_dir, store=args.store, dead_letters=args.dead_letters,
                                       seed=args.seed, now_ms=args.now_ms, retry_fraction=args.retry_fraction,
                                       tenants=args.tenants, postgres_url=args.postgres_url,
                                       schema=args.postgres_schema)
        except (FileExistsError, ValueError) as exc:
            parser.exit(1, f"generate.py: {exc}\n")
        print(f"loaded {args.store} store under {args.out_dir / 'data'} in {time.perf_counter() - started:.1f}s")
        print("  " + ", ".join(f"{name} {count}" for name, count in counts.items()))
        return 0
    try:
        state = generate_state(args.out_dir, dead_letters=args.dead_letters, seed=args.seed,
                               now_ms=args.now_ms, retry_fraction=args.retry_fraction,
                               tenants=args.tenants, compact_hot=args.compact_hot,
                               overwrite=args.force)
    except (FileExistsError, ValueError) as exc:
        parser.exit(1, f"generate.py: {exc} (use --force to replace it)\n"
                    if isinstance(exc, FileExistsError) else f"generate.py: {exc}\n")
    elapsed = time.perf_counter() - started
    size_mb = state.reliability_file.stat().st_size / 1e6
    print(f"wrote {state.data_dir} in {elapsed:.1f}s")
    print(f"  dead letters {state.dead_letters} ({state.wait_dead_letters} wait), "
          f"retry candidates {state.retry_candidates}, outbox {state.outbox}, "
          f"effects {state.tool_effects}, compensations {state.compensations}")
    print(f"  runs {state.runs} (hot {state.hot_runs}, shard-only {state.shard_only_runs}), "
          f"definitions {state.definitions}, reliability store {size_mb:.1f} MB")
    print(f"  statuses {dict(state.status_counts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
