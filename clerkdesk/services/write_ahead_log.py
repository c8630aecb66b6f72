"""Bulk writes and SQLite's write-ahead log.

A commit appends the pages it changed to the log; a checkpoint copies them into the database
file. By default SQLite checkpoints after any commit that leaves the log over 1,000 pages, in
the committing thread. A bulk load (an import, the demo households) commits batch after batch
that touch the same index pages, and each of those checkpoints would copy them all once more,
in the writer's own time.
"""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from peewee import SqliteDatabase

from clerkdesk.models import database

log = logging.getLogger(__name__)
# How often the helper thread copies what the bulk writer has committed meanwhile.
ALONGSIDE_EVERY_SECONDS = 0.2


@contextmanager
def checkpoint_once(alongside: bool = False) -> Iterator[None]:
    """No automatic checkpoints on this connection while the block writes; one at the end
    that also gives back the disk the grown log took. With `alongside`, a helper thread on a
    connection of its own copies the committed batches meanwhile (`_copy_alongside`). The
    connection's own setting is put back. Elsewhere than on SQLite, nothing changes."""
    if not isinstance(database.obj, SqliteDatabase):
        yield
        return
    (pages,) = database.execute_sql("PRAGMA wal_autocheckpoint").fetchone()
    database.execute_sql("PRAGMA wal_autocheckpoint = 0")
    try:
        if alongside:
            with _copy_alongside():
                yield
        else:
            yield
    finally:
        database.execute_sql(f"PRAGMA wal_autocheckpoint = {int(pages)}")
        if not database.in_transaction():  # a caller's open transaction checkpoints later
            database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")


@contextmanager
def _copy_alongside() -> Iterator[None]:
    """While the block writes the next batch on one core, a helper copies the batches already
    committed on the other, so the final checkpoint finds little left: ~0.4 s of a 100,000-row
    import's 3.2 s, measured side by side. It copies some pages more than once (a later batch
    changes them again), but on the core the writer is not using. A PASSIVE checkpoint neither
    waits for nor holds up readers or the writer; should one fail, the final checkpoint does
    the work."""
    stop = threading.Event()

    def copy_committed_pages() -> None:
        try:
            while not stop.wait(ALONGSIDE_EVERY_SECONDS):
                database.execute_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception:
            log.warning("Copying the write-ahead log alongside a bulk write stopped",
                        exc_info=True)
        finally:
            database.close()  # this thread's own connection

    helper = threading.Thread(target=copy_committed_pages, name="checkpoint-alongside",
                              daemon=True)
    helper.start()
    try:
        yield
    finally:
        stop.set()
        helper.join()
