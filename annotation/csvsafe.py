"""Cells of every CSV the platform writes, made safe to open in a spreadsheet.

A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a formula by
Excel, LibreOffice and Google Sheets (CSV injection: an annotator's "reason" of `=HYPERLINK(...)`
would run on the researcher's machine). Such a cell gets a leading apostrophe, which spreadsheets
show as text and tools reading the CSV can strip. Numbers are left alone: -1.5 is a number, not a
formula.
"""
from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value):
    """`value` as it may go into a CSV: a risky text with an apostrophe before it, anything else as is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def row(values: Iterable) -> list:
    """Every cell of a row through `cell`."""
    return [cell(value) for value in values]


def frame(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of `table` whose text columns went through `cell` (for DataFrame.to_csv)."""
    table = table.copy()
    for name in table.columns:
        column = table[name]
        if column.dtype == object or pd.api.types.is_string_dtype(column):
            risky = column.astype("string").str.startswith(FORMULA_STARTS, na=False) if len(column) else column.astype(bool)
            if risky.any():
                table[name] = column.where(~risky, "'" + column.astype("string"))
    return table
