"""The pure aggregation of `dead-letters stats`."""

from tandemctl.commands.stats import DAY_MS, aggregate, breakdown, normalise_reason
from tests.factories import dead_letter, tenant

NOW = 100 * DAY_MS


def test_normalise_reason_groups_ids_and_numbers() -> None:
    assert normalise_reason("HTTP 503 from api.mailer.example") == "http N from api.mailer.example"
    assert normalise_reason("  HTTP 502   from api.mailer.example ") == "http N from api.mailer.example"
    assert normalise_reason("run 5b0d1c7e-2a11-4c55-9a0e-0f3c2d9b8e41 failed") == "run <id> failed"
    assert normalise_reason("effect deadbeef12 lost") == "effect <id> lost"
    assert normalise_reason("provider timeout") == "provider timeout"


def test_breakdown_orders_by_count_then_key_and_sums_the_rest() -> None:
    rows = [dead_letter(f"d{i}", status=s) for i, s in enumerate(["open", "open", "resolved", "ignored", "retrying"])]
    assert breakdown(rows, "status", 2) == [{"key": "open", "count": 2}, {"key": "ignored", "count": 1},
                                            {"key": "(other)", "count": 2}]
    assert len(breakdown(rows, "status", 0)) == 4


def test_aggregate() -> None:
    acme = tenant("acme", "ops")
    rows = [
        dead_letter("d-old", status="open", created=NOW - 40 * DAY_MS, tenant_context=acme,
                    metadata={"operation": "email.send"}),
        dead_letter("d-new", status="retry_requested", created=NOW - 60_000, metadata={"operation": "email.send"}),
        dead_letter("d-flight", status="retrying", created=NOW - 2 * 3_600_000),
        dead_letter("d-exh", status="ignored", created=NOW - 3 * DAY_MS, operator_disposition="retry_exhausted",
                    disposition_at_ms=NOW - 3_600_000),
        dead_letter("d-exh-old", status="ignored", created=NOW - 9 * DAY_MS, operator_disposition="retry_exhausted",
                    disposition_at_ms=NOW - 2 * DAY_MS),
    ]
    data = aggregate(rows, now_ms=NOW, by=["tool", "tenant"], top=10)
    assert data["total"] == 5 and data["open"] == 3
    assert data["by"]["tool"] == [{"key": "email.send", "count": 2}, {"key": "-", "count": 3}][::-1]
    assert data["by"]["tenant"] == [{"key": "local/local", "count": 4}, {"key": "acme/ops", "count": 1}]
    assert [h["count"] for h in data["age_histogram"]] == [1, 1, 0, 0, 0, 1]
    assert data["oldest_open"]["dead_letter_id"] == "d-old"
    assert data["oldest_open"]["age_ms"] == 40 * DAY_MS
    assert data["retries_in_flight"] == {"retry_requested": 1, "retrying": 1}
    assert data["exhausted_last_24h"] == 1


def test_aggregate_of_nothing() -> None:
    data = aggregate([], now_ms=NOW, by=["status"], top=10)
    assert data["total"] == 0 and data["oldest_open"] is None and data["by"] == {"status": []}
