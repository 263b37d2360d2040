"""The benchmark's PostgreSQL database: the environment that points at it, recreating it, VACUUM ANALYZE."""
from __future__ import annotations

import os
import secrets


def configure_environment(args) -> dict:
    """The environment shared by this process (migrations, token decoding, probe) and gunicorn.

    Returns it, after setting it in os.environ too."""
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": f"{args.pg.rstrip('/')}/{args.db}",
        "DJANGO_SETTINGS_MODULE": args.settings,
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("BENCH_SECRET_KEY") or secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        "BENCH_DB": args.db,
        # Connections live through the whole run: a PostgreSQL backend that exits mid-phase (the
        # settings' default recycles connections after 60 s) takes its CPU time out of the
        # server's share and into 'other programs'.
        "CONN_MAX_AGE": os.environ.get("CONN_MAX_AGE", "86400"),
    })
    os.environ.update(env)
    return env


def recreate_database(args) -> None:
    """DROP (with FORCE) and CREATE the database --db on the server --pg."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(f"{args.pg.rstrip('/')}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(args.db)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(args.db)))


def vacuum_analyze(args) -> None:
    """What autovacuum would have done by now: fresh planner statistics and no dead rows.

    Without statistics PostgreSQL plans the session-start aggregate over all session items as a
    nested loop (hundreds of ms per session start after a few thousand ratings, under the campaign
    lock); a production server with autovacuum on analyzes these tables as they grow."""
    import psycopg

    with psycopg.connect(f"{args.pg.rstrip('/')}/{args.db}", autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def autovacuum_setting(args) -> str:
    """Returns the server's autovacuum setting: 'on' or 'off'."""
    import psycopg

    with psycopg.connect(f"{args.pg.rstrip('/')}/{args.db}", autocommit=True) as conn:
        return conn.execute("SHOW autovacuum").fetchone()[0]
