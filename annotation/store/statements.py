"""SQL statements of the PostgreSQL store, prepared once per database connection.

The annotator pages and the rating submit each run one fixed statement many times a session.
Planning such a statement cost PostgreSQL more than running it (0.64 ms against 0.21 ms for the
submit), and building it with the ORM cost Django about 1 ms per query on the 2-core benchmark
machine. Django's default psycopg cursors bind parameters on the client and never prepare, so
these statements are PREPAREd by name on each connection the first time they run there.

With `server_side_binding` on in the database OPTIONS, Django's cursors bind on the server and
psycopg prepares every query it has run `prepare_threshold` times (protocol-level, no PREPARE
text); the statements then go through Django's cursor as they are and psycopg prepares them. Which
of the two is faster is measured by `bench/annotation_load` (see the README's figures).

A PREPAREd statement lives as long as the database session (a rollback does not undo PREPARE);
`statements_forget`, connected to `connection_created` in apps.py, clears the record of a new
connection. A pooler in transaction mode (pgbouncer) would lose them between transactions; this
platform connects directly.

Table names and the values of status and role columns come from the models' metadata and choice
classes (`table`, `literal`), so a renamed table or choice value cannot leave a statement behind.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from django.db import connection, models


class PreparedStatement:
    """`sql` with `%(name)s` placeholders, prepared as `name` with the PostgreSQL types of `params`."""

    def __init__(self, name: str, sql: str, params: Sequence[tuple[str, str]]):
        self.name = name
        self.param_names = [param for param, _ in params]
        types = dict(params)
        positional = re.sub(r"%\((\w+)\)s", lambda m: "$%d" % (1 + self.param_names.index(m.group(1))), sql)
        self.prepare_sql = f"PREPARE {name} ({', '.join(kind for _, kind in params)}) AS {positional}"
        self.execute_sql = f"EXECUTE {name} ({', '.join(['%s'] * len(params))})"
        # For psycopg's own preparation: each placeholder cast to its declared type, as PREPARE does.
        self.typed_sql = re.sub(r"%\((\w+)\)s", lambda m: f"%({m.group(1)})s::{types[m.group(1)]}", sql)

    def execute(self, values: Mapping[str, object], *, rows: bool = True) -> list[tuple]:
        """Run the statement on the current connection (preparing it there first if needed); its rows
        (none fetched when `rows` is false: a statement that returns none)."""
        with connection.cursor() as cursor:
            if server_side_binding():
                cursor.execute(self.typed_sql, {name: values[name] for name in self.param_names})
                return cursor.fetchall() if rows else []
            prepared = getattr(connection, "annotation_prepared", None)
            if prepared is None:
                prepared = connection.annotation_prepared = set()
            if self.name not in prepared:
                cursor.execute(self.prepare_sql)
                prepared.add(self.name)
            cursor.execute(self.execute_sql, [values[name] for name in self.param_names])
            return cursor.fetchall() if rows else []


def server_side_binding() -> bool:
    """Whether Django's cursors bind on the server, so that psycopg prepares repeated queries itself."""
    return bool(connection.settings_dict.get("OPTIONS", {}).get("server_side_binding"))


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


def statements_forget(sender, connection, **kwargs) -> None:
    """`connection_created` receiver: a new database session has no prepared statement yet."""
    connection.annotation_prepared = set()
