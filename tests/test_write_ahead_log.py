"""checkpoint_once, which imports and the demo households write under: on SQLite the log is
copied into the database once at the end (and by a helper thread meanwhile, when asked), the
connection's setting comes back and no helper outlives the block, whatever happens inside;
on PostgreSQL nothing changes. On SQLite and PostgreSQL."""

import threading
import time
from pathlib import Path

import pytest
from peewee import SqliteDatabase

from clerkdesk.models import Household, database
from clerkdesk.services import write_ahead_log
from clerkdesk.services.write_ahead_log import checkpoint_once


def _sqlite_file() -> Path | None:
    return Path(database.obj.database) if isinstance(database.obj, SqliteDatabase) else None


def _helpers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "checkpoint-alongside"]


def _autocheckpoint() -> int | None:
    if _sqlite_file() is None:
        return None
    return database.execute_sql("PRAGMA wal_autocheckpoint").fetchone()[0]


def _write_batches(count: int) -> None:
    for batch in range(count):
        with database.atomic():
            Household.insert_many([{"client_id": f"B{batch}-{n}", "name": f"Batch {batch}"}
                                   for n in range(200)]).execute()


@pytest.mark.parametrize("alongside", [False, True])
def test_batches_land_and_the_log_is_emptied_at_the_end(db, alongside, monkeypatch):
    monkeypatch.setattr(write_ahead_log, "ALONGSIDE_EVERY_SECONDS", 0.01)
    copied_by = []
    real = database.obj.execute_sql

    def recording(sql, *args, **kwargs):
        if "wal_checkpoint(PASSIVE)" in sql:
            copied_by.append(threading.current_thread().name)
        return real(sql, *args, **kwargs)

    monkeypatch.setattr(database.obj, "execute_sql", recording)
    before = _autocheckpoint()
    with checkpoint_once(alongside=alongside):
        if _sqlite_file() is not None:
            assert _autocheckpoint() == 0
        assert len(_helpers()) == (1 if alongside and _sqlite_file() else 0)
        _write_batches(5)
        time.sleep(0.05)  # the helper's turn
    assert Household.select().count() == 1_000
    assert _autocheckpoint() == before and _helpers() == []
    path = _sqlite_file()
    if path is not None:
        assert Path(f"{path}-wal").stat().st_size == 0  # TRUNCATE gave the disk back
    expected = {"checkpoint-alongside"} if alongside and path is not None else set()
    assert set(copied_by) == expected


def test_a_failure_inside_stops_the_helper_and_puts_the_setting_back(db):
    before = _autocheckpoint()
    with pytest.raises(RuntimeError, match="midway"), checkpoint_once(alongside=True):
        _write_batches(1)
        raise RuntimeError("midway")
    assert _autocheckpoint() == before and _helpers() == []
    assert Household.select().count() == 200  # the committed batch stays


def test_an_open_transaction_is_left_for_its_own_commit(db):
    with database.atomic():
        with checkpoint_once(alongside=True):
            _write_batches(2)
        assert database.in_transaction()
    assert Household.select().count() == 400 and _helpers() == []
