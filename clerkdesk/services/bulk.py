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
    """The rows go into a bare temporary table first, then into the real one with a single
    INSERT … SELECT. Peewee would build SQL text for every row, ten times slower than
    executemany; and executemany straight into a table with many indexes measured a third
    slower than this (SQLite then maintains the indexes row by row between Python's binding
    of one row and the next, instead of in one tight loop). Fields the rows leave out get
    their defaults here, bound once: peewee applies defaults in Python, not the schema."""
    given = {field.name for field in fields}  # by name: Field.__eq__ builds SQL, not a bool
    defaulted = [f for f in model._meta.sorted_fields
                 if f.name not in given and f.default is not None and not f.primary_key]
    defaults = [f.db_value(f.default() if callable(f.default) else f.default)
                for f in defaulted]
    columns = [f'"{field.column_name}"' for field in fields]
    target = ", ".join(columns + [f'"{field.column_name}"' for field in defaulted])
    table = model._meta.table_name
    stage = f'temp."bulk_{table}"'
    cursor = database.cursor()
    cursor.execute(f"DROP TABLE IF EXISTS {stage}")
    cursor.execute(f"CREATE TABLE {stage} ({', '.join(columns)})")
    try:
        cursor.executemany(f"INSERT INTO {stage} VALUES ({', '.join('?' * len(fields))})",
                           rows)
        cursor.execute(f'INSERT INTO "{table}" ({target}) SELECT {", ".join(columns)}'
                       f'{", ?" * len(defaulted)} FROM {stage} ORDER BY rowid', defaults)
    except sqlite3.IntegrityError as error:  # as peewee raises it on every other path
        raise IntegrityError(*error.args) from error
    finally:
        cursor.execute(f"DROP TABLE IF EXISTS {stage}")
