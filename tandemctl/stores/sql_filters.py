"""The WHERE clauses a database store reads with: what the index columns (tenant, status, run)
answer exactly for a query, and the rows a RowScope names. The payload filters run after decoding."""

from typing import Any

from tandemctl.engine.query import WHITESPACE, DeadLetterQuery, normalize_filter
from tandemctl.stores.base import RowScope
from tandemctl.stores.db_schema import DEAD_LETTERS
from tandemctl.stores.sql_dialect import Dialect


def index_filter(dialect: Dialect, query: DeadLetterQuery) -> tuple[str, tuple[Any, ...]]:
    """The filters the index columns answer exactly: tenant, status and run (the payload
    filters run after decoding)."""
    clauses: list[str] = []
    params: list[Any] = []
    if query.tenant is not None:
        clauses.append(f"org_id = ? AND workspace_id = ? AND deployment_id {dialect.null_safe_eq} ?")
        params += [query.tenant.get("org_id", ""), query.tenant.get("workspace_id", ""),
                   query.tenant.get("deployment_id")]
    statuses = sorted({s for s in (normalize_filter(v) for v in query.statuses) if s is not None})
    if statuses:
        clauses.append(f"status IN ({', '.join('?' * len(statuses))})")
        params += statuses
    run_id = normalize_filter(query.run_id)
    if run_id is not None:
        clauses.append(f"{dialect.normalized_run_id} = ?")
        params += [WHITESPACE, run_id]
    return " AND ".join(clauses) or "1=1", tuple(params)


def scope_filter(dialect: Dialect, scope: RowScope) -> tuple[str, tuple[Any, ...]]:
    """The rows of `scope` by their index columns: the query's column filters, or an id listed."""
    clauses: list[str] = []
    params: tuple[Any, ...] = ()
    if scope.query is not None:
        where, params = index_filter(dialect, scope.query)
        clauses.append(f"({where})")
    if scope.ids:
        ids = sorted(scope.ids)
        clauses.append(f"{DEAD_LETTERS.id_column} IN ({', '.join('?' * len(ids))})")
        params += tuple(ids)
    return " OR ".join(clauses) or "1=0", params
