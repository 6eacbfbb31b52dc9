"""Bulk validation of raw engine JSON against the strict models, with one-line errors."""

from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from tandemctl.errors import CorruptStateError

_CHUNK = 4096
_adapters: dict[type[BaseModel], TypeAdapter[list[Any]]] = {}


def _adapter(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    adapter = _adapters.get(model)
    if adapter is None:
        adapter = TypeAdapter(list[model])  # type: ignore[valid-type]
        _adapters[model] = adapter
    return adapter


def validate_rows(rows: list[Any], model: type[BaseModel], *, path: Path, collection: str,
                  key: str) -> None:
    """Validate every row, in chunks so peak memory stays near one chunk of models."""
    adapter = _adapter(model)
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start:start + _CHUNK]
        try:
            adapter.validate_python(chunk)
        except ValidationError as exc:
            raise CorruptStateError(describe_error(exc, chunk, start, path, collection, key)) from None


def describe_error(exc: ValidationError, chunk: list[Any], offset: int, path: Path,
                   collection: str, key: str) -> str:
    """`<file>: dead_letters[12] (dead_letter_id "x"): field "status": <reason>`."""
    first = exc.errors(include_url=False)[0]
    loc = list(first["loc"])
    index = loc.pop(0) if loc and isinstance(loc[0], int) else None
    record_label = collection
    if isinstance(index, int):
        record_label = f"{collection}[{offset + index}]"
        row = chunk[index]
        if isinstance(row, dict) and isinstance(row.get(key), str):
            record_label += f" ({key} {_quote(row[key])})"
    field = ".".join(str(part) for part in loc) or "(record)"
    reason = first["msg"]
    if first["type"] not in {"missing"} and "input" in first:
        reason += f", got {_short(first['input'])}"
    return f"{path}: {record_label}: field {field!r}: {reason}"


def _quote(text: str) -> str:
    return repr(text[:80])


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
