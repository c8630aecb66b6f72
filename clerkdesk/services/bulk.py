"""Inserting many rows fast: SQLite's executemany, or peewee's multi-row INSERT elsewhere."""

import sqlite3

from peewee import Field, IntegrityError, Model, SqliteDatabase

from clerkdesk.models import database


def bulk_insert(model: type[Model], fields: list[Field], rows: list[tuple]) -> None:
    """Insert `rows` (tuples in `fields` order) inside the caller's transaction."""
    if not rows:
        return
    if isinstance(database.obj, SqliteDatabase):
        _executemany(model, fields, rows)
        return
    for start in range(0, len(rows), 1000):
        model.insert_many(rows[start:start + 1000], fields=fields).execute()


def _executemany(model: type[Model], fields: list[Field], rows: list[tuple]) -> None:
    """Peewee would build SQL text for every row, ten times slower than executemany."""
    # Peewee applies defaults in Python, so fields the rows leave out get theirs here.
    given = {field.name for field in fields}  # by name: Field.__eq__ builds SQL, not a bool
    defaulted = [f for f in model._meta.sorted_fields
                 if f.name not in given and f.default is not None and not f.primary_key]
    defaults = tuple(f.db_value(f.default() if callable(f.default) else f.default)
                     for f in defaulted)
    columns = ", ".join(f'"{field.column_name}"' for field in [*fields, *defaulted])
    marks = ", ".join("?" for _ in range(len(fields) + len(defaulted)))
    sql = f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES ({marks})'
    try:
        database.cursor().executemany(sql, (row + defaults for row in rows))
    except sqlite3.IntegrityError as error:  # as peewee raises it on every other path
        raise IntegrityError(*error.args) from error
