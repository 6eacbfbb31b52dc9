"""A cheap first look at a database row's payload, so that reading the rows a bulk selector
names (`--since 2h` among 300,000 open rows, say) decodes and validates only the candidates.

`may_match` is False only when the payload is plain JSON whose record certainly fails the query's
created-time window or source type, exactly as `engine/query.iter_matching` would judge it after the
full decode; anything unusual (sealed, not JSON, fields of the wrong type) is left to the full decode,
which reports what is wrong with it."""

import math
from collections.abc import Callable
from typing import Any

import orjson

from tandemctl.engine.protected_records import SEALED_PREFIX, is_envelope
from tandemctl.engine.query import DeadLetterQuery, normalize_filter


def payload_check(query: DeadLetterQuery) -> Callable[[Any], bool] | None:
    """`may_match` for one query, its filters worked out once (None: the query reads no payload
    field this can judge, so every row may match)."""
    source = normalize_filter(query.source_type)
    if query.created_after_ms is None and query.created_before_ms is None and source is None:
        return None
    after = -math.inf if query.created_after_ms is None else query.created_after_ms
    before = math.inf if query.created_before_ms is None else query.created_before_ms

    def check(payload: Any) -> bool:
        if not isinstance(payload, str) or payload.startswith(SEALED_PREFIX):
            return True
        try:
            value = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return True
        record = value.get("payload") if is_envelope(value) else value
        if not isinstance(record, dict):
            return True
        created = record.get("created_at_ms")
        if type(created) is int and not after <= created <= before:
            return False
        found = record.get("source_type")
        return source is None or not isinstance(found, str) or normalize_filter(found) == source

    return check


def may_match(payload: Any, query: DeadLetterQuery) -> bool:
    check = payload_check(query)
    return check is None or check(payload)
