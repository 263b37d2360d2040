"""Settings from the environment: the embedded run's own secret key, DEBUG only on request, and a
production configuration that `check --deploy` finds nothing to say about."""
from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRINT = "from django.conf import settings; print(settings.DEBUG, settings.SECRET_KEY)"


def run(code: str, **env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DATABASE_URL", "DEBUG")}
    return subprocess.run([sys.executable, "-c", f"import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', "
                           f"'config.settings'); django.setup(); {code}"],
                          cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120)


def test_the_embedded_run_makes_its_own_secret_key_once_and_debug_is_off(tmp_path):
    first = run(PRINT, VAR_DIR=str(tmp_path))
    assert first.returncode == 0, first.stderr
    debug, key = first.stdout.split()
    assert debug == "False" and len(key) >= 50
    stored = tmp_path / "secret_key"
    assert stored.read_text().strip() == key and stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert run(PRINT, VAR_DIR=str(tmp_path)).stdout.split()[1] == key  # kept, not made again
    assert run(PRINT, VAR_DIR=str(tmp_path / "other")).stdout.split()[1] != key  # another installation
    assert run(PRINT, VAR_DIR=str(tmp_path), DEBUG="1").stdout.split()[0] == "True"


def test_a_deployment_without_a_secret_key_refuses_to_start(tmp_path):
    result = run(PRINT, VAR_DIR=str(tmp_path), DATABASE_URL="postgres://u@127.0.0.1:5432/x")
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr
    assert not (tmp_path / "secret_key").exists()


def test_check_deploy_is_clean_with_the_production_configuration(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(
        SECRET_KEY="prod-" + "k3y-" * 15, DATABASE_URL="postgres://postgres@127.0.0.1:5432/dream_check",
        ALLOWED_HOSTS="dream.example.org", CSRF_TRUSTED_ORIGINS="https://dream.example.org",
        SECURE_SSL_REDIRECT="1", SECURE_HSTS_SECONDS="31536000", SECURE_HSTS_PRELOAD="1", SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https",
        VAR_DIR=str(tmp_path),
    )
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_no_template_carries_an_inline_script_or_handler():
    inline = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>|\son[a-z]+=\"", re.I)
    offenders = [str(path.relative_to(ROOT)) for path in (ROOT / "templates").rglob("*.html") if inline.search(path.read_text())]
    assert offenders == []


@pytest.mark.django_db
def test_every_page_carries_the_content_security_policy(client):
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert response["X-Frame-Options"] == "DENY"
