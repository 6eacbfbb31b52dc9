"""`dead-letters count` through the CLI on the JSON file and on SQLite: the table and its total
line, --top with the (other) line, CSV and JSON Lines, and a bad --by as a usage error."""

from collections.abc import Callable

import orjson
import pytest

from tests.conftest import Result, StateDir
from tests.factories import dead_letter, tenant
from tests.stores.store_kinds import seed

Run = Callable[..., Result]
ROWS = [dead_letter(f"dl-{index}", status=status, updated=1000 + index, run_id=f"run-{index % 3}",
                    tenant_context=tenant("acme", "ops") if index % 2 else None)
        for index, status in enumerate(["open"] * 5 + ["ignored"] * 3 + ["resolved"])]


@pytest.fixture(params=["json", "sqlite"])
def seeded(request: pytest.FixtureRequest, state: StateDir) -> StateDir:
    seed(request.param, state, ROWS)
    return state


def test_table_largest_first_with_the_total_on_stderr(seeded: StateDir, tandemctl: Run) -> None:
    result = tandemctl("--all-tenants", "dead-letters", "count")
    assert result.exit_code == 0, result.stderr
    assert [line.split() for line in result.stdout.splitlines()] == \
        [["STATUS", "COUNT"], ["open", "5"], ["ignored", "3"], ["resolved", "1"]]
    assert result.stderr.strip() == "9 dead letter(s); all tenants"


def test_top_sums_the_rest_as_other(seeded: StateDir, tandemctl: Run) -> None:
    result = tandemctl("-o", "csv", "dead-letters", "count", "--by", "run", "--top", "1")
    assert result.exit_code == 0, result.stderr
    # The default tenant (local/local) holds dl-0, 2, 4, 6, 8: runs 0, 2, 1, 0, 2.
    assert result.stdout.splitlines() == ["run,count", "run-0,2", "(other),3"]
    lines = tandemctl("-o", "jsonl", "dead-letters", "count", "--by", "tenant", "--status", "open").stdout
    assert [orjson.loads(line) for line in lines.splitlines()] == [{"tenant": "local/local", "count": 3}]


def test_unknown_field_is_a_usage_error(seeded: StateDir, tandemctl: Run) -> None:
    result = tandemctl("dead-letters", "count", "--by", "tool")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: --by: unknown field 'tool'; choose from status, tenant, run"]
