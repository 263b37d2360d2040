"""Where the annotation workflow reads and writes: one store per database vendor, chosen once.

`current()` answers the store of the default connection's vendor: `PostgresStore` (prepared
statements, row locks) on PostgreSQL, `OrmStore` (the Django ORM) elsewhere, SQLite above all.
The interface and the values it exchanges are in `base`; the contract both meet is tested once,
parametrised over both (tests/annotation/test_store_contract.py).
"""
from __future__ import annotations

from functools import cache

from django.db import connection

from .base import Store


@cache
def for_vendor(vendor: str) -> Store:
    """The store for a database vendor (`connection.vendor`), built once per process."""
    if vendor == "postgresql":
        from .postgres import PostgresStore

        return PostgresStore()
    from .orm import OrmStore

    return OrmStore()


def current() -> Store:
    """The store of the default database connection."""
    return for_vendor(connection.vendor)
