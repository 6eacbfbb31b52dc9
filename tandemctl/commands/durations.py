"""Human durations (`90s`, `15m`, `2h30m`, `7d`) to milliseconds."""

import re
from typing import Final

from tandemctl.errors import UsageError

_UNITS: Final = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_PART = re.compile(r"(\d+)(ms|s|m|h|d|w)")


def parse_duration_ms(text: str, *, option: str) -> int:
    """Parse `1h30m`-style text; a bare number means seconds."""
    value = text.strip().lower()
    if value.isdigit():
        return int(value) * 1000
    pos, total = 0, 0
    for match in _PART.finditer(value):
        if match.start() != pos:
            break
        total += int(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(value) or not value:
        raise UsageError(f"{option}: cannot read duration {text!r}; use e.g. 90s, 15m, 2h30m, 7d")
    return total


def relative(now_ms: int, then_ms: int) -> str:
    """`in 40s`, `3m ago`, `now`: how far `then_ms` is from `now_ms`, in the largest two units."""
    delta = (then_ms - now_ms) // 1000
    if delta == 0:
        return "now"
    text = duration_text(abs(delta) * 1000)
    return f"in {text}" if delta > 0 else f"{text} ago"


def duration_text(ms: int) -> str:
    """`40d`, `1h30m`, `45s`: a duration in its largest two units."""
    seconds = ms // 1000
    parts: list[str] = []
    for size, unit in ((86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")):
        if seconds >= size or (size == 1 and not parts):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
        if len(parts) == 2:
            break
    return "".join(parts)
