"""A real full disk: a tiny tmpfs mounted for the test (needs root; skipped otherwise)."""

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tandemctl.errors import WriteError
from tandemctl.stores.json_file import JsonReliabilityFile
from tests.factories import dead_letter, write_store


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_full_disk_leaves_old_file_byte_identical_and_no_temp(tiny_disk: Path) -> None:
    store = tiny_disk / "data" / "runtime" / "stateful_reliability.json"
    original = write_store(store, [dead_letter(f"dead-{i}") for i in range(40)])
    assert len(original) > 20_000

    def grow(data):  # type: ignore[no-untyped-def]
        for row in data.dead_letters:
            row["reason"] = "z" * 2000  # needs more room than the disk has left
        return True, None

    with pytest.raises(WriteError, match="left unchanged") as info:
        JsonReliabilityFile(store).mutate(grow, lock_timeout=1)
    assert "No space left on device" in str(info.value)
    assert store.read_bytes() == original
    assert sorted(p.name for p in store.parent.iterdir()) == [
        "stateful_reliability.json", "stateful_reliability.json.tandemctl.lock"]
