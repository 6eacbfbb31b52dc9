"""Benchmark suite: tandemctl vs jq and vs the I/O floor, on generated states, in one run.

    python benchmarks/run.py [--sizes 1000,10000,100000] [--repeat 5] [--out benchmarks/out]
    python benchmarks/run.py --store sqlite [--sizes 1000000] [--repeat 3]
    python benchmarks/run.py --store postgres --postgres-url URL [--sizes 1000000]

Prints a Markdown table of medians and writes the raw numbers to <out>/results.json.
Timing lives here, never in the test suite.
"""

import argparse
import itertools
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.generate import generate_state  # noqa: E402

NOW_MS = 1_795_737_600_000
JQ_FILTER = '[.dead_letters[] | select(.status=="retry_requested")]'


@dataclass
class Sample:
    seconds: list[float] = field(default_factory=list)
    max_rss_kb: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def run_timed(argv: Sequence[str], *, env: dict[str, str] | None = None) -> tuple[float, int]:
    """Wall time and max RSS (KiB) of one child process; its output is discarded."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode not in (0, 6):
        raise SystemExit(f"benchmark command failed ({proc.returncode}): {' '.join(argv)}\n{stderr}")
    return elapsed, usage.ru_maxrss


def measure(argv_for: Callable[[int], Sequence[str]], repeat: int, *, env: dict[str, str] | None = None,
            before: Callable[[], None] | None = None) -> Sample:
    sample = Sample()
    for i in range(repeat):
        if before:
            before()
        seconds, rss = run_timed(argv_for(i), env=env)
        sample.seconds.append(seconds)
        sample.max_rss_kb = max(sample.max_rss_kb, rss)
    return sample


def tandemctl(state_root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "tandemctl", "--state-dir", str(state_root), *args]


def bench_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"TANDEMCTL_NOW_MS": str(NOW_MS), "NO_COLOR": "1", "COLUMNS": "120",
                "TANDEM_ENGINE_PORT": "9", "TANDEMCTL_ACTOR": "bench"})
    return env


def bench_size(n: int, work: Path, repeat: int) -> dict[str, object]:
    pristine = work / f"state-{n}"
    if not pristine.exists():
        generate_state(pristine, dead_letters=n, seed=7, now_ms=NOW_MS, retry_fraction=0.10)
    scratch = work / f"scratch-{n}"
    store = pristine / "data" / "runtime" / "stateful_reliability.json"
    env = bench_env()

    def fresh_copy() -> None:
        # Hard links are enough: tandemctl replaces state files by rename and creates the audit
        # ledger and journal afresh, so the pristine copy is never modified.
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.copytree(pristine, scratch, copy_function=os.link)

    results: dict[str, object] = {"dead_letters": n, "store_bytes": store.stat().st_size}
    # `list` remembers a store it validated in full (readcache); "cold" runs start with an empty
    # cache every time (the first list after the engine rewrote the store), "warm" ones reuse it.
    cold_cache, warm_cache = work / "cache-cold", work / "cache-warm"
    cold_env, warm_env = {**env, "XDG_CACHE_HOME": str(cold_cache)}, {**env, "XDG_CACHE_HOME": str(warm_cache)}

    def empty_cache() -> None:
        shutil.rmtree(cold_cache, ignore_errors=True)

    list_args = ("--all-tenants", "-o", "json", "dead-letters", "list", "--status", "retry_requested", "--limit", "0")
    table_args = ("--all-tenants", "dead-letters", "list")
    list_cold = measure(lambda _: tandemctl(pristine, *list_args), repeat, env=cold_env, before=empty_cache)
    table_cold = measure(lambda _: tandemctl(pristine, *table_args), repeat, env=cold_env, before=empty_cache)
    shutil.rmtree(warm_cache, ignore_errors=True)
    run_timed(tandemctl(pristine, *table_args), env=warm_env)  # warm-up: validates and remembers
    list_json = measure(lambda _: tandemctl(pristine, *list_args), repeat, env=warm_env)
    jq = measure(lambda _: ["jq", JQ_FILTER, str(store)], repeat, env=env) if shutil.which("jq") else None
    table = measure(lambda _: tandemctl(pristine, *table_args), repeat, env=warm_env)
    # linked_to_compensation rows are ~12% of the generated dead letters: the "10%" bulk retry.
    retry_args = ("--all-tenants", "-o", "json", "dead-letters", "retry", "--status", "linked_to_compensation",
                  "--reason", "bench", "--yes")
    preview = subprocess.run(tandemctl(pristine, *retry_args, "--dry-run"), env=env, capture_output=True)
    results["bulk_retry_rows"] = len(orjson.loads(preview.stdout)["data"]["changed"])
    retry = measure(lambda _: tandemctl(scratch, *retry_args), repeat, env=env, before=fresh_copy)
    sweep = measure(lambda _: tandemctl(scratch, "-o", "json", "sweep", "--once"), repeat, env=env,
                    before=fresh_copy)
    plan = subprocess.run(tandemctl(pristine, "-o", "json", "sweep", "--once", "--dry-run"), env=env,
                          capture_output=True, check=True)
    requeued = work / f"requeued-{n}.json"
    requeued.write_bytes(orjson.dumps(orjson.loads(plan.stdout)["data"]["runs_requeued"]))
    floor = measure(lambda _: [sys.executable, str(ROOT / "benchmarks" / "io_floor.py"), str(scratch / "data"),
                               str(requeued)], repeat, env=env, before=fresh_copy)
    results.update({
        "list_json_s": list_json.median, "list_json_rss_kb": list_cold.max_rss_kb,
        "list_json_cold_s": list_cold.median, "list_table_cold_s": table_cold.median,
        "jq_s": jq.median if jq else None,
        "list_table_s": table.median,
        "bulk_retry_s": retry.median,
        "sweep_s": sweep.median, "sweep_rss_kb": sweep.max_rss_kb,
        "sweep_floor_s": floor.median,
    })
    return results


def bench_startup(repeat: int) -> dict[str, float]:
    env = bench_env()
    base = measure(lambda _: [sys.executable, "-c", "pass"], repeat, env=env).median
    version = measure(lambda _: [sys.executable, "-m", "tandemctl", "--version"], repeat, env=env).median
    help_ = measure(lambda _: [sys.executable, "-m", "tandemctl", "--help"], repeat, env=env).median
    return {"python_pass_s": base, "version_s": version, "help_s": help_}


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a is not None and b else "n/a"


def report(sizes: list[dict[str, object]], startup: dict[str, float]) -> str:
    lines = ["| dead letters | store MB | list -o json cold / warm (s) | jq (s) | list/jq cold / warm | "
             "first-page table cold / warm (s) | bulk retry ~10% (s) | sweep --once (s) | I/O floor (s) | "
             "sweep/floor | list RSS/store | sweep RSS/store |", "|" + "---|" * 12]
    for r in sizes:
        store_mb = int(r["store_bytes"]) / 1e6  # type: ignore[call-overload]
        store_kb = int(r["store_bytes"]) / 1024  # type: ignore[call-overload]
        lines.append(
            f"| {r['dead_letters']:,} | {store_mb:.1f} | {r['list_json_cold_s']:.3f} / {r['list_json_s']:.3f} | "
            f"{r['jq_s'] if r['jq_s'] is None else format(r['jq_s'], '.3f')} | "
            f"{_ratio(r['list_json_cold_s'], r['jq_s'])} / {_ratio(r['list_json_s'], r['jq_s'])} | "  # type: ignore[arg-type]
            f"{r['list_table_cold_s']:.3f} / {r['list_table_s']:.3f} | "
            f"{r['bulk_retry_s']:.3f} ({r['bulk_retry_rows']:,} rows) | "
            f"{r['sweep_s']:.3f} | {r['sweep_floor_s']:.3f} | {_ratio(r['sweep_s'], r['sweep_floor_s'])} | "  # type: ignore[arg-type]
            f"{int(r['list_json_rss_kb']) / store_kb:.1f} | {int(r['sweep_rss_kb']) / store_kb:.1f} |"  # type: ignore[call-overload]
        )
    for a, b in itertools.pairwise(sizes):
        lines.append(f"\nGrowth {a['dead_letters']:,} → {b['dead_letters']:,}: list ×"
                     f"{_ratio(b['list_json_s'], a['list_json_s'])}, sweep ×{_ratio(b['sweep_s'], a['sweep_s'])}")  # type: ignore[arg-type]
    lines.append(f"\nStart-up: `python -c pass` {startup['python_pass_s'] * 1000:.0f} ms, "
                 f"`tandemctl --version` {startup['version_s'] * 1000:.0f} ms, "
                 f"`tandemctl --help` {startup['help_s'] * 1000:.0f} ms")
    lines.append(f"\nMachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
                 f"{platform.platform()}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    parser.add_argument("--store", choices=("json", "sqlite", "postgres"), default="json",
                        help="sqlite/postgres: time the 0.6.9+ database stores instead (run_db.py)")
    parser.add_argument("--postgres-url", default=os.environ.get("TANDEM_STORAGE_POSTGRES_URL"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.store != "json":
        from benchmarks.run_db import bench_db, report_db
        if args.store == "postgres" and not args.postgres_url:
            parser.error("--store postgres needs --postgres-url (or TANDEM_STORAGE_POSTGRES_URL)")
        rows = [bench_db(int(n), args.out, args.repeat, backend=args.store, url=args.postgres_url,
                         env=bench_env(), now_ms=NOW_MS, measure=measure) for n in args.sizes.split(",")]
        (args.out / f"results-{args.store}.json").write_bytes(orjson.dumps(rows, option=orjson.OPT_INDENT_2))
        print(report_db(rows))
        return
    if not shutil.which("jq"):
        print("note: jq not found (apt-get install jq); the jq column will be n/a", file=sys.stderr)
    sizes = [bench_size(int(n), args.out, args.repeat) for n in args.sizes.split(",")]
    startup = bench_startup(max(args.repeat, 10))
    (args.out / "results.json").write_bytes(orjson.dumps({"sizes": sizes, "startup": startup},
                                                         option=orjson.OPT_INDENT_2))
    print(report(sizes, startup))


if __name__ == "__main__":
    main()
