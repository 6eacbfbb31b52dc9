"""Typer `autocompletion=` callbacks: ids from the current state, via `commands/complete.py`."""

import typer


def _root_params(ctx: typer.Context) -> dict[str, object]:
    return dict(ctx.find_root().params)


def complete_dead_letter_id(ctx: typer.Context, incomplete: str) -> list[str]:
    from tandemctl.commands.complete import dead_letter_ids

    return dead_letter_ids(_root_params(ctx), incomplete)


def complete_run_id(ctx: typer.Context, incomplete: str) -> list[str]:
    from tandemctl.commands.complete import run_ids

    return run_ids(_root_params(ctx), incomplete)


def complete_operation_id(ctx: typer.Context, incomplete: str) -> list[str]:
    from tandemctl.commands.complete import operation_ids

    return operation_ids(_root_params(ctx), incomplete)
