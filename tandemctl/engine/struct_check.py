"""A one-pass proof that a chunk of records is valid *and* byte-for-byte what the engine writes for
them, without building dicts: decode into msgspec Structs derived from the models, encode again.

Mirrors the strictness of `engine/validation.py` (same models, same types, same bounds) and the
engine's serde layout. It only ever says "proven" or "don't know": a chunk it cannot prove goes to
the dict-based check, so it may be stricter than the models (it is, for u64 values above 2^63 and
for unknown keys) but never more lenient. Optional: without msgspec installed it proves nothing.
"""

import enum
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, Final

from pydantic import BaseModel

from tandemctl.engine.models import COLLECTIONS

try:
    import msgspec  # type: ignore[import-not-found,unused-ignore]  # optional: see available()
except ImportError:  # pragma: no cover - exercised only where msgspec is absent
    msgspec = None  # type: ignore[assignment]

# msgspec bounds must fit in an int64: u64 values above it are left to the dict-based check.
_INT64_MAX: Final = 2**63 - 1
_WRAP_HEAD: Final = len(b'{\n  "": ')
_WRAP_TAIL: Final = len(b"\n}")


def available() -> bool:
    return msgspec is not None


def proves_exact(collection: str, text: bytes) -> bool:
    """True when `text` (a JSON array of records at depth 2, as in the store file) holds only valid
    records with no unknown or duplicate keys and is exactly the engine's pretty serialisation."""
    check = _checkers().get(collection)
    return check is not None and check(text)


_cache: dict[str, Callable[[bytes], bool]] = {}


def _checkers() -> dict[str, Callable[[bytes], bool]]:
    if not _cache and msgspec is not None:
        encoder = msgspec.json.Encoder()
        for collection, (model, _) in COLLECTIONS.items():
            _cache[collection] = _checker(msgspec.json.Decoder(list[struct_for(model)]), encoder)  # type: ignore[misc]
    return _cache


def _checker(decoder: Any, encoder: Any) -> Callable[[bytes], bool]:
    def check(text: bytes) -> bool:
        try:
            rows = decoder.decode(text)
            # Unset fields are not written, so absent keys stay absent; `{"": rows}` puts the records
            # at their depth in the file, and msgspec's 2-space format is serde's pretty layout.
            pretty = msgspec.json.format(encoder.encode({"": rows}), indent=2)
        except (msgspec.MsgspecError, ValueError, TypeError, OverflowError, RecursionError):
            return False  # "don't know": the dict-based check decides
        return bool(pretty[_WRAP_HEAD:-_WRAP_TAIL] == text)
    return check


_structs: dict[type[BaseModel], Any] = {}


def struct_for(model: type[BaseModel]) -> Any:
    """The model as a msgspec Struct: fields in declaration order (the engine's write order), same
    types and bounds; a field with a default is UNSET when absent, so it is written back only if present."""
    cached = _structs.get(model)
    if cached is not None:
        return cached
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for name, info in model.model_fields.items():
        annotation = _convert(info.annotation, list(info.metadata))
        if info.is_required():
            fields.append((name, annotation))
        else:
            fields.append((name, annotation if annotation is Any else annotation | msgspec.UnsetType,
                           msgspec.UNSET))
    struct = msgspec.defstruct(f"{model.__name__}Struct", fields, kw_only=True)
    _structs[model] = struct
    return struct


def _convert(annotation: Any, metadata: list[Any]) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return struct_for(annotation)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        return _convert(args[0], [*args[1:], *metadata])
    if origin is list:
        return list[_convert(args[0], [])]  # type: ignore[misc]
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(_convert(arg, []) for arg in args)]  # noqa: UP007
    if annotation is int:
        bounds = _int_bounds(metadata)
        return Annotated[int, msgspec.Meta(ge=bounds.get("ge"), le=bounds.get("le"))]
    if annotation in (str, bool, Any, type(None)) or _is_str_enum(annotation):
        _refuse_unknown(metadata)
        return annotation
    raise TypeError(f"no msgspec mirror for {annotation!r}")


def _int_bounds(metadata: list[Any]) -> dict[str, int]:
    bounds: dict[str, int] = {}
    for item in _flat(metadata):
        if type(item).__name__ == "Ge":
            bounds["ge"] = item.ge
        elif type(item).__name__ == "Le":
            bounds["le"] = min(item.le, _INT64_MAX)
        elif type(item).__name__ != "Strict":
            raise TypeError(f"no msgspec mirror for the constraint {item!r}")
    return bounds


def _refuse_unknown(metadata: list[Any]) -> None:
    for item in _flat(metadata):
        if type(item).__name__ != "Strict":
            raise TypeError(f"no msgspec mirror for the constraint {item!r}")


def _flat(metadata: list[Any]) -> list[Any]:
    """pydantic nests `Field(ge=...)` constraints inside a FieldInfo's own metadata."""
    flat: list[Any] = []
    for item in metadata:
        flat += _flat(item.metadata) if hasattr(item, "metadata") and isinstance(item.metadata, list) else [item]
    return flat


def _is_str_enum(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, enum.Enum) and issubclass(annotation, str)
