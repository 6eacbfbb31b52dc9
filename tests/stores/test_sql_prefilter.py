"""The payload pre-check of database reads never drops a row the engine's filter keeps: random
records and selectors, as binding envelopes and as bare rows; anything unusual is kept for the full
decode to judge."""

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from tandemctl.engine import protected_records as pr
from tandemctl.engine.query import DeadLetterQuery, iter_matching
from tandemctl.stores.sql_prefilter import may_match
from tests.factories import dead_letter

TIMES = st.integers(0, 10_000)


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, dict[str, object], DeadLetterQuery]:
    record = dead_letter("dl-1", created=draw(TIMES), source_type=draw(st.sampled_from(["tool_effect",
                                                                                      "stateful_wait"])))
    query = DeadLetterQuery(created_after_ms=draw(st.none() | TIMES), created_before_ms=draw(st.none() | TIMES),
                            source_type=draw(st.none() | st.sampled_from(["tool_effect", " Tool-Effect ",
                                                                          "stateful-wait", "all", ""])))
    envelope = draw(st.booleans())
    payload = pr.encode_plain_envelope(record, kind="dead_letter", record_id="dl-1") if envelope \
        else orjson.dumps(record).decode()
    return payload, record, query


@settings(max_examples=400, deadline=None)
@given(cases())
def test_a_row_dropped_early_is_one_the_filter_drops(case: tuple[str, dict[str, object], DeadLetterQuery]) -> None:
    payload, record, query = case
    kept = bool(list(iter_matching([record], query)))
    assert may_match(payload, query) or not kept
    if query.created_after_ms is None and query.created_before_ms is None and query.source_type is None:
        assert may_match(payload, query)


def test_it_drops_what_certainly_fails() -> None:
    record = dead_letter("dl-1", created=500)
    payload = pr.encode_plain_envelope(record, kind="dead_letter", record_id="dl-1")
    assert not may_match(payload, DeadLetterQuery(created_after_ms=600))
    assert not may_match(payload, DeadLetterQuery(source_type="stateful_wait"))
    assert may_match(payload, DeadLetterQuery(created_after_ms=500, created_before_ms=500))


def test_what_it_cannot_judge_is_kept_for_the_full_decode() -> None:
    query = DeadLetterQuery(created_after_ms=600, source_type="stateful_wait")
    odd = dead_letter("dl-1", created=500) | {"created_at_ms": "500", "source_type": 7}
    for payload in ("tgs1:{}", "{not json", "[1, 2]", '{"kind": "dead_letter"}', orjson.dumps(odd).decode(), None):
        assert may_match(payload, query), payload
