"""Files written whole or not at all (modeling.files)."""
from __future__ import annotations

import json
import stat

import pytest

from modeling.files import atomic_write, json_write


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path):
    path = tmp_path / "sub" / "entry.bin"
    atomic_write(path, lambda tmp: tmp.write_bytes(b"first"))
    assert path.read_bytes() == b"first" and stat.S_IMODE(path.stat().st_mode) == 0o644

    def half(tmp):
        tmp.write_bytes(b"half of the sec")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, half)
    assert path.read_bytes() == b"first" and [p.name for p in path.parent.iterdir()] == ["entry.bin"]


def test_json_is_replaced_whole(tmp_path):
    path = json_write(tmp_path / "record.json", {"epoch": 1})
    json_write(path, {"epoch": 2, "file": "checkpoint-2.safetensors"}, indent=None)
    assert json.loads(path.read_text()) == {"epoch": 2, "file": "checkpoint-2.safetensors"}
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]
