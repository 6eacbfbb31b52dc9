"""Writes a planned state as a Tandem data dir: definitions, hot runs file, history shards and
the reliability store, each in the layout the server writes (spec 01 §7.3, spec 02 §2.7–§3.1)."""

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

from benchmarks._compensation import (
    WaitPlan,
    compensation_kept,
    compensation_updated_at,
    render_compensation,
    render_compensation_outbox,
    render_receipt_effect,
    render_wait_dead_letter,
)
from benchmarks._definitions import Automation
from benchmarks._format import pretty, write_pretty, write_reliability_store
from benchmarks._records import (
    ActionPlan,
    dead_letter_updated_at,
    render_dead_letter,
    render_effect,
    render_outbox,
)
from benchmarks._runs import RunPlan, render_run

RELIABILITY_FILE = Path("runtime", "stateful_reliability.json")
RUNS_FILE = Path("automation_v2_runs.json")
SHARDS_DIR = Path("automation-runs", "automation_v2_runs")
DEFINITIONS_DIR = Path("automations-v2")

_Row = tuple[int, Callable[[Any], dict[str, Any]], Any]


@dataclass(frozen=True, slots=True)
class WriteSummary:
    outbox: int
    tool_effects: int
    dead_letters: int
    compensations: int
    hot_runs: int
    shard_runs: int
    definitions: int


def write_definitions(data_dir: Path, automations: Iterable[Automation]) -> int:
    directory = data_dir / DEFINITIONS_DIR
    index = []
    for automation in sorted(automations, key=lambda item: item.automation_id):
        name = f"{automation.automation_id}.json"
        write_pretty(directory / name, automation.live.spec)
        index.append({"automation_id": automation.automation_id, "path": name,
                      "updated_at_ms": automation.live.updated_at_ms})
    write_pretty(directory / "index.json", {"schema_version": 1, "definitions": index})
    return len(index)


def write_runs(data_dir: Path, runs: Iterable[RunPlan], now_ms: int,
               compact_hot: bool = False) -> tuple[int, int]:
    """Every run gets a history shard; only hot runs go into the runs file.

    With `compact_hot`, terminal hot runs lose `automation_snapshot` as the server's persist
    does when the live definition is not older than the snapshot (spec 02 §2.7).
    """
    shard_root = data_dir / SHARDS_DIR
    made: set[Path] = set()
    hot: dict[str, dict[str, Any]] = {}
    shards = 0
    for run in runs:
        record = render_run(run)
        path = shard_root / run.shard_path()
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        path.write_bytes(pretty({"schema_version": 1, "run": record}))
        shards += 1
        if run.is_hot(now_ms):
            if compact_hot and run.terminal:
                record = {key: value for key, value in record.items()
                          if key != "automation_snapshot"}
            hot[run.run_id] = record
    write_pretty(data_dir / RUNS_FILE, {"schema_version": 1, "runs": hot})
    return len(hot), shards


def _sorted(rows: list[_Row]) -> list[_Row]:
    # Stable sort, newest first, exactly as the server orders each array.
    return sorted(rows, key=itemgetter(0), reverse=True)


def _rendered(rows: list[_Row]) -> Iterator[dict[str, Any]]:
    for _, render, plan in rows:
        yield render(plan)


def reliability_rows(actions: Sequence[ActionPlan], waits: Sequence[WaitPlan],
                     ) -> dict[str, list[_Row]]:
    """(updated_at_ms, renderer, plan) for every row of every array, already sorted."""
    outbox: list[_Row] = []
    effects: list[_Row] = []
    dead: list[_Row] = []
    comps: list[_Row] = []
    for action in actions:
        updated = action.current_action()[2]
        outbox.append((updated, render_outbox, action))
        effects.append((updated, render_effect, action))
        comp = action.compensation
        if comp is not None and comp.executed is not None:
            outbox.append((comp.executed.at_ms + 2, render_compensation_outbox, action))
            effects.append((comp.executed.at_ms + 2, render_receipt_effect, action))
        if action.dead_letter is not None:
            dead.append((dead_letter_updated_at(action), render_dead_letter, action))
        if compensation_kept(action):
            comps.append((compensation_updated_at(action), render_compensation, action))
    dead.extend((wait.dead_letter.updated_at_ms, render_wait_dead_letter, wait) for wait in waits)
    return {"outbox": _sorted(outbox), "tool_effects": _sorted(effects),
            "dead_letters": _sorted(dead), "compensations": _sorted(comps)}


def write_state(data_dir: Path, *, automations: Sequence[Automation], runs: Sequence[RunPlan],
                actions: Sequence[ActionPlan], waits: Sequence[WaitPlan], now_ms: int,
                compact_hot: bool = False) -> WriteSummary:
    definitions = write_definitions(data_dir, automations)
    hot, shards = write_runs(data_dir, runs, now_ms, compact_hot)
    arrays = reliability_rows(actions, waits)
    write_reliability_store(data_dir / RELIABILITY_FILE,
                            [(name, _rendered(rows)) for name, rows in arrays.items()])
    return WriteSummary(len(arrays["outbox"]), len(arrays["tool_effects"]),
                        len(arrays["dead_letters"]), len(arrays["compensations"]),
                        hot, shards, definitions)
