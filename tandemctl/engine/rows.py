"""The raw record type shared by every layer: a JSON object exactly as the engine stored it."""

from typing import Any

Row = dict[str, Any]
