"""Annotating stands on its own: the annotation app imports nothing from analysis, the demo study or OpenCV."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {"analysis", "demo", "cv2"}


def imported_top_names(path: Path) -> set[str]:
    """The top-level package of every absolute import in the file (relative ones stay in annotation)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_annotation_module_imports_analysis_demo_or_opencv():
    modules = sorted((ROOT / "annotation").rglob("*.py"))
    assert len(modules) > 20  # the scan really walks the app, submodules and commands included
    offenders = {str(path.relative_to(ROOT)): sorted(imported_top_names(path) & FORBIDDEN) for path in modules}
    assert {path: names for path, names in offenders.items() if names} == {}


def test_imported_top_names_sees_every_form_of_import(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text(
        "import cv2\nimport numpy as np, analysis.stats\nfrom demo.crowd import crowd_simulate\n"
        "from . import models\nfrom .analysis import x\n"
        "def f():\n    from analysis import tasks\n"
    )
    assert imported_top_names(source) == {"cv2", "numpy", "analysis", "demo"}


# Django set up with annotation and what it needs, but neither analysis nor demo installed: every
# module of annotation must import, and none of the forbidden packages may be loaded on the way.
IMPORT_ALONE = """
import pkgutil, sys
import django
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
                    "django.contrib.sessions", "django.contrib.messages", "rest_framework", "annotation"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    ROOT_URLCONF="annotation.urls", MEDIA_ROOT="/nonexistent", SECRET_KEY="x",
)
django.setup()
import annotation
names = [m.name for m in pkgutil.walk_packages(annotation.__path__, "annotation.")]
for name in names:
    __import__(name)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {"analysis", "demo", "cv2"})
print(len(names), loaded)
"""


def test_annotation_imports_without_analysis_or_demo_installed():
    result = subprocess.run([sys.executable, "-c", IMPORT_ALONE], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    count, loaded = result.stdout.split(maxsplit=1)
    assert int(count) > 20 and loaded.strip() == "[]"
