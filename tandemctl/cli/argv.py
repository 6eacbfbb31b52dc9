"""Global options in either position: those typed after the command name are moved before it.

Click parses a group's options only before its subcommand; kubectl/gh users type
`tandemctl dead-letters list --all-tenants -o json`. Pure list-of-strings work, no Typer.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

# Every global option and whether it takes a value (kept in step with `cli/app.py::root`).
GLOBAL_OPTIONS: Final[Mapping[str, bool]] = {
    "--state-dir": True, "--reliability-file": True, "--tenant": True, "--all-tenants": False,
    "--output": True, "-o": True, "--actor": True, "--config": True, "--lock-timeout": True,
    "--storage-backend": True, "--postgres-url": True, "--live": False, "--engine-url": True,
    "--api-token-file": True, "--verbose": False, "-v": False, "--quiet": False, "-q": False,
    "--version": False,
}
_SHORT_FLAGS: Final = frozenset("vq")


@dataclass(frozen=True)
class CommandOptions:
    """The options a command defines itself: they win over a global option of the same name."""

    names: frozenset[str]
    with_value: frozenset[str]


# Given a command path: the subcommand names under it and the options its command defines.
Resolve = Callable[[tuple[str, ...]], tuple[frozenset[str], CommandOptions]]


def _global_arity(token: str) -> int | None:
    """How many following tokens a global option consumes, or None if `token` is not one."""
    if token.startswith("--"):
        name, eq, _ = token.partition("=")
        if name not in GLOBAL_OPTIONS or (eq and not GLOBAL_OPTIONS[name]):
            return None
        return 1 if GLOBAL_OPTIONS[name] and not eq else 0
    name = token[:2]
    if len(token) < 2 or name not in GLOBAL_OPTIONS:
        return None
    if len(token) == 2:
        return 1 if GLOBAL_OPTIONS[name] else 0
    if GLOBAL_OPTIONS[name]:
        return 0  # `-ojson`
    return 0 if set(token[1:]) <= _SHORT_FLAGS else None  # `-vv`, `-vq`


def _option_name(token: str) -> str:
    return token.partition("=")[0] if token.startswith("--") else token[:2]


def hoist_global_options(args: list[str], resolve: Resolve) -> list[str]:
    """Move global options found after the command name (and their values) before it.

    Options the command defines itself (`sweep --lock-timeout`, `history --actor`) stay where
    they are; nothing after `--` moves.
    """
    head: list[str] = []
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "--":
        arity = _global_arity(args[i])
        if arity is None:
            return args  # an unknown option before the command: let click report it
        head += args[i:i + 1 + arity]
        i += 1 + arity
    path: tuple[str, ...] = ()
    subcommands, own = resolve(path)
    moved: list[str] = []
    rest: list[str] = []
    while i < len(args):
        token = args[i]
        if token == "--":
            rest += args[i:]
            break
        if not token.startswith("-") or token == "-":
            if token in subcommands:
                path += (token,)
                subcommands, own = resolve(path)
            rest.append(token)
            i += 1
            continue
        arity = _global_arity(token)
        if path and arity is not None and _option_name(token) not in own.names:
            moved += args[i:i + 1 + arity]
            i += 1 + arity
            continue
        takes_value = token in own.with_value
        rest += args[i:i + 1 + int(takes_value)]
        i += 1 + int(takes_value)
    return head + moved + rest


def output_format(args: list[str]) -> str | None:
    """The `-o`/`--output` value among the global options before the command, if any."""
    value = None
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "--":
        token, name = args[i], _option_name(args[i])
        arity = _global_arity(token)
        if arity is None:
            i += 1
            continue
        if name in ("-o", "--output"):
            if arity == 1 and i + 1 < len(args):
                value = args[i + 1]
            elif token.startswith("--"):
                value = token.split("=", 1)[1]
            else:
                value = token[2:].lstrip("=")
        i += 1 + arity
    return value
