"""Progress for long work, on stderr and only on a terminal: never in piped output, logs or with -q."""

from collections.abc import Iterator
from contextlib import contextmanager

from tandemctl.render.console import stderr_console


@contextmanager
def activity(label: str, *, quiet: bool) -> Iterator[None]:
    """A spinner with `label` while the block runs (loading a large state, a sweep); nothing is left
    on the screen afterwards, and stdout is never touched."""
    console = stderr_console()
    if quiet or not console.is_terminal:
        yield
        return
    with console.status(label, spinner="dots"):
        yield
