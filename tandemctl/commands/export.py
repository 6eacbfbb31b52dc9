"""`tandemctl export`: the store's reliability records as a 0.6.6-format `stateful_reliability.json`
document (the engine's exact layout), for the file tools people know. Sealed rows are reported,
never invented."""

from dataclasses import dataclass, field
from pathlib import Path

from tandemctl.engine.models import COLLECTIONS
from tandemctl.engine.records import serialize_reliability_top
from tandemctl.engine.sealed import SEALED_KEY, is_readable, without_marker
from tandemctl.errors import UsageError
from tandemctl.fs import atomic
from tandemctl.stores.base import Store


@dataclass(frozen=True)
class ExportOutcome:
    document: bytes
    output_file: Path | None
    counts: dict[str, int]
    sealed: list[str] = field(default_factory=list)  # "<collection>/<id>" of rows left out
    decrypted: int = 0  # rows read with the local key, exported in plaintext
    source: str = ""


def run_export(store: Store, *, output_file: Path | None, store_file: Path) -> ExportOutcome:
    """Read every collection through the seam; write the document atomically when a file is named."""
    if output_file is not None and output_file.resolve() == store_file.resolve():
        raise UsageError(f"--output-file {output_file}: that is the store file itself; export elsewhere")
    top: dict[str, object] = {"schema_version": 1}
    counts: dict[str, int] = {}
    sealed: list[str] = []
    decrypted = 0
    for collection, (_, key) in COLLECTIONS.items():
        rows = []
        for row in store.load_collection(collection):
            if not is_readable(row):
                sealed.append(f"{collection}/{row[key]}")
                continue
            decrypted += SEALED_KEY in row
            rows.append(without_marker(row))
        top[collection] = rows
        counts[collection] = len(rows)
    document = serialize_reliability_top(top)
    if output_file is not None:
        atomic.write_atomic(output_file, document)
    return ExportOutcome(document, output_file, counts, sealed, decrypted, store.info.location)
