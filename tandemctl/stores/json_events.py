"""The runtime event log `runtime/events.jsonl` of 0.6.x (spec 02 §1.3), read tolerantly:
the engine appends to it while we read, so a torn or foreign line is skipped, never fatal."""

from collections import deque
from pathlib import Path

import orjson

from tandemctl.engine.rows import Row
from tandemctl.fs import reads

EVENTS_FILE = "events.jsonl"


def read_run_events(path: Path, run_id: str | None, limit: int) -> list[Row]:
    """The last `limit` well-formed events (0 = all), oldest first, of `run_id` when given."""
    data, _ = reads.read_bytes(path)
    if data is None:
        return []
    kept: deque[Row] = deque(maxlen=limit or None)
    for line in data.splitlines():
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(event, dict) or not isinstance(event.get("event_type"), str):
            continue
        if run_id is not None and event.get("run_id") != run_id:
            continue
        kept.append(event)
    return list(kept)
