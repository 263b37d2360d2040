"""Files written whole or not at all: every cache entry, checkpoint, weights file and marker of modeling goes through here.

A reader (another split's job, a resumed run, the other process under torchrun) must never take half a
file for a whole one, and a run killed mid-write must leave the previous file as it was. `atomic_write`
has the writer fill a temporary file beside the target (same folder, so the rename cannot cross file
systems) and renames it over the target when the writer returns.
"""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Call write(tmp) on a new temporary file in `path`'s folder (made if missing), then rename it to `path`.

    If `write` raises, the temporary file is removed and `path` is untouched. The file is left readable
    by everyone (0644, as a plain write leaves it under the usual umask; mkstemp makes it private).
    Returns `path`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def json_write(path: str | os.PathLike[str], data, *, indent: int | None = 2) -> Path:
    """`data` as UTF-8 JSON at `path`, written atomically (atomic_write)."""
    text = json.dumps(data, indent=indent) + "\n"
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
