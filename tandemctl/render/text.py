"""Making record text inert for terminals: no escape sequences, no markup interpretation."""

import re
from typing import Final

# C0 controls (except nothing), DEL and C1 controls; shown as \xNN so they cannot act.
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def inert(text: str) -> str:
    """Replace control characters (ESC, BEL, CR, ...) with visible `\\xNN` escapes."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def age(now_ms: int, then_ms: int) -> str:
    """Compact age like `3d4h`, `12m`, `45s`; future times get a leading `in `."""
    delta = (now_ms - then_ms) // 1000
    prefix = ""
    if delta < 0:
        prefix, delta = "in ", -delta
    days, rest = divmod(delta, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{prefix}{days}d{hours}h" if hours else f"{prefix}{days}d"
    if hours:
        return f"{prefix}{hours}h{minutes}m" if minutes else f"{prefix}{hours}h"
    if minutes:
        return f"{prefix}{minutes}m"
    return f"{prefix}{seconds}s"


def when(now_ms: int | None, then_ms: int | None) -> str:
    """`2026-11-28 10:42:13Z (in 40s)`: an absolute UTC time and how far it is from now; `-` for none."""
    if then_ms is None:
        return "-"
    from datetime import UTC, datetime

    from tandemctl.commands.durations import relative

    stamp = datetime.fromtimestamp(then_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return stamp if now_ms is None else f"{stamp} ({relative(now_ms, then_ms)})"
