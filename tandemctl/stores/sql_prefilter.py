"""A cheap first look at a database row's payload, so that reading the rows a bulk selector
names (`--since 2h` among 300,000 open rows, say) decodes and validates only the candidates.

`may_match` is False only when the payload is plain JSON whose record certainly fails the query's
created-time window or source type, exactly as `engine/query.iter_matching` would judge it after the
full decode; anything unusual (sealed, not JSON, fields of the wrong type) is left to the full decode,
which reports what is wrong with it."""

from typing import Any

import orjson

from tandemctl.engine.protected_records import SEALED_PREFIX, is_envelope
from tandemctl.engine.query import DeadLetterQuery, normalize_filter


def may_match(payload: Any, query: DeadLetterQuery) -> bool:
    if not isinstance(payload, str) or payload.startswith(SEALED_PREFIX) or not _narrows(query):
        return True
    try:
        value = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return True
    record = value.get("payload") if is_envelope(value) else value
    if not isinstance(record, dict):
        return True
    created = record.get("created_at_ms")
    if type(created) is int:
        if query.created_after_ms is not None and created < query.created_after_ms:
            return False
        if query.created_before_ms is not None and created > query.created_before_ms:
            return False
    source = normalize_filter(query.source_type)
    found = record.get("source_type")
    return source is None or not isinstance(found, str) or normalize_filter(found) == source


def _narrows(query: DeadLetterQuery) -> bool:
    return query.created_after_ms is not None or query.created_before_ms is not None or \
        normalize_filter(query.source_type) is not None
