"""SQL statements of the PostgreSQL store, which psycopg prepares once per database connection.

The annotator pages and the rating submit each run one fixed statement many times a session.
Planning such a statement cost PostgreSQL more than running it (0.64 ms against 0.21 ms for the
submit), and building it with the ORM cost Django about 1 ms per query on the 2-core benchmark
machine. The PostgreSQL connection binds parameters on the server (`server_side_binding` in the
database OPTIONS, config/settings.py), so psycopg prepares a query once it has run
`prepare_threshold` times on a connection (protocol-level, kept per connection, re-prepared after
a reconnect by psycopg itself).

This replaced a hand-written PREPARE / EXECUTE layer. Measured side by side with
bench/annotation_load (--phases bare,resave --seconds 10, 64 connections, 2 cores, 2026-12-01):
the submit alone took 0.60 and 0.67 ms of server CPU with the hand-written layer against 0.54 ms
with psycopg's (1,382 and 1,355 against 1,535 submits/s); the submit / bare-insert ratio was
0.63 / 0.63 against 0.65, the bare insert being prepared by psycopg too. The library's is no
slower, so it stays. `prepare_threshold` 0 (prepare on first use) broke migrations ("cannot
insert multiple commands into a prepared statement"); psycopg's default of 5 is kept.

Each placeholder is cast to its declared type, as PREPARE's parameter list did, so the statement
means the same under client-side binding (DATABASE_SERVER_SIDE_BINDING=0). Table names and the
values of status and role columns come from the models' metadata and choice classes (`table`,
`literal`), so a renamed table or choice value cannot leave a statement behind.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from django.db import connection, models


class PreparedStatement:
    """`sql` with `%(name)s` placeholders, each cast to its PostgreSQL type from `params`; `name`
    identifies the statement in tests and logs."""

    def __init__(self, name: str, sql: str, params: Sequence[tuple[str, str]]):
        self.name = name
        self.param_names = [param for param, _ in params]
        types = dict(params)
        unknown = set(re.findall(r"%\((\w+)\)s", sql)) - set(types)
        if unknown:
            raise ValueError(f"statement {name}: no type for {', '.join(sorted(unknown))}")
        self.sql = re.sub(r"%\((\w+)\)s", lambda m: f"%({m.group(1)})s::{types[m.group(1)]}", sql)

    def execute(self, values: Mapping[str, object], *, rows: bool = True) -> list[tuple]:
        """Run the statement on the current connection; its rows (none fetched when `rows` is false:
        a statement that returns none)."""
        with connection.cursor() as cursor:
            cursor.execute(self.sql, {name: values[name] for name in self.param_names})
            return cursor.fetchall() if rows else []


def table(model: type[models.Model]) -> str:
    """The model's table name, quoted for a statement."""
    return connection.ops.quote_name(model._meta.db_table)


def literal(value: str) -> str:
    """A choice value (e.g. `Attempt.Outcome.IN_PROGRESS`) as a SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def columns(model: type[models.Model], alias: str) -> str:
    """The model's concrete columns, in field order, for a statement's select list."""
    return ", ".join(f"{alias}.{field.column}" for field in model._meta.concrete_fields)


def instance(model: type[models.Model], values: Sequence) -> models.Model:
    """A model instance from the values of `columns(model, ...)`, as the ORM would load it (a stored
    row, JSON fields decoded)."""
    fields = model._meta.concrete_fields
    values = [field.from_db_value(value, None, connection) if hasattr(field, "from_db_value") else value
              for field, value in zip(fields, values)]
    return model.from_db(connection.alias, [field.attname for field in fields], values)
