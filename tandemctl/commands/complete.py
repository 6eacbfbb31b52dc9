"""Shell completion of ids from the current state: dead-letter ids, run ids and journal operation ids.
Completion must never fail or print: any error means no candidates."""

from collections.abc import Callable, Mapping
from typing import Any

from tandemctl.commands.invocation import Invocation, resolve
from tandemctl.commands.options import RootOptions
from tandemctl.constants import OutputFormat
from tandemctl.engine.dispositions import visible_to_tenant
from tandemctl.stores.journal_file import read_entries

MAX_CANDIDATES = 200


def root_options(params: Mapping[str, Any]) -> RootOptions:
    """The global options typed so far (the completion context has parsed them, not run them)."""
    def text(name: str) -> str | None:
        value = params.get(name)
        return value if isinstance(value, str) else None

    return RootOptions(state_dir=text("state_dir"), reliability_file=text("reliability_file"), tenant=text("tenant"),
                       all_tenants=bool(params.get("all_tenants")), output=OutputFormat.TABLE, config=text("config"),
                       storage_backend=text("storage_backend"), postgres_url=text("postgres_url"),
                       live=bool(params.get("live")), engine_url=text("engine_url"))


def _safely(params: Mapping[str, Any], incomplete: str, produce: Callable[[Invocation], list[str]]) -> list[str]:
    try:
        values = produce(resolve(root_options(params)))
    except Exception:  # a completion that fails offers nothing, never a traceback
        return []
    chosen = sorted({value for value in values if value.startswith(incomplete)})
    return chosen[:MAX_CANDIDATES]


def dead_letter_ids(params: Mapping[str, Any], incomplete: str) -> list[str]:
    def produce(inv: Invocation) -> list[str]:
        return [str(row["dead_letter_id"]) for row in inv.store().load_dead_letters()
                if inv.tenant is None or visible_to_tenant(row, inv.tenant)]

    return _safely(params, incomplete, produce)


def run_ids(params: Mapping[str, Any], incomplete: str) -> list[str]:
    """Runs that own a dead letter in scope: the runs an operator triages."""
    def produce(inv: Invocation) -> list[str]:
        return [str(row["run_id"]) for row in inv.store().load_dead_letters()
                if row.get("run_id") and (inv.tenant is None or visible_to_tenant(row, inv.tenant))]

    return _safely(params, incomplete, produce)


def operation_ids(params: Mapping[str, Any], incomplete: str) -> list[str]:
    def produce(inv: Invocation) -> list[str]:
        return [str(entry["operation_id"]) for entry in read_entries(inv.store().journal_file)]

    return _safely(params, incomplete, produce)
