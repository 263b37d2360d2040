"""The export's manifest.json: what the export holds and how it was made, and the SHA-256 of every file."""
from __future__ import annotations

import json
from pathlib import Path

from .files import atomic, sha256_of

MANIFEST = "manifest.json"
WORK = "_work"  # the stages' scratch folder inside an export; never listed, removed before the manifest


def export_files(folder: Path) -> list[str]:
    """The export's files as sorted POSIX paths relative to `folder`: everything but the manifest, scratch and temporary files."""
    out = []
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if not path.is_file() or relative.parts[0] == WORK or any(p.startswith(".") for p in relative.parts):
            continue
        if relative.as_posix() != MANIFEST:
            out.append(relative.as_posix())
    return sorted(out)


def files_hashed(folder: Path) -> dict[str, dict]:
    """{relative path: {"bytes", "sha256"}} of every export file."""
    return {name: {"bytes": (folder / name).stat().st_size, "sha256": sha256_of(folder / name)} for name in export_files(folder)}


def manifest_write(folder: Path, header: dict) -> dict:
    """Write manifest.json: `header` plus the files and their hashes; returns the manifest."""
    manifest = {**header, "files": files_hashed(folder)}
    with atomic(folder / MANIFEST) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return manifest


def manifest_read(folder: Path) -> dict:
    return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))


def manifest_mismatches(folder: Path) -> list[str]:
    """The files that differ from the manifest (missing, extra, or another SHA-256); empty when the export is intact."""
    listed = manifest_read(folder)["files"]
    present = set(export_files(folder))
    problems = [f"missing: {name}" for name in sorted(set(listed) - present)]
    problems += [f"not in the manifest: {name}" for name in sorted(present - set(listed))]
    problems += [f"changed: {name}" for name in sorted(present & set(listed)) if sha256_of(folder / name) != listed[name]["sha256"]]
    return problems
