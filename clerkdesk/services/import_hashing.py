"""Hashing an import's passwords on every core, and keeping an old system's bcrypt hashes.

Plain passwords get the site's recipe (`passwords.hash_secret`), hashed by a thread pool:
bcrypt releases the GIL, so N threads keep N cores busy. The next batch is already hashing
while the current one is written, so the cores never wait for the database.

An old system's bcrypt hash (``$2a$``/``$2b$``/``$2y$``) was made from the raw password, not
from the site's SHA-256 pre-hash, so it is stored under its own recipe name, Django-style:
``bcrypt$<the old hash>``. `passwords.verify_secret` checks it as the old system did, and the
portal's upgrade-on-login (`needs_rehash`) replaces it with the site's recipe at the first
sign-in.
"""

import os
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from . import passwords
from .import_rows import OLD_BCRYPT, ImportRow

OLD_BCRYPT_ALGORITHM = passwords.OLD_BCRYPT


def stored_old_hash(old_hash: str) -> str:
    """How an old system's bcrypt hash is stored: its recipe named first."""
    if not OLD_BCRYPT.fullmatch(old_hash):
        raise ValueError("not a bcrypt hash")
    return f"{OLD_BCRYPT_ALGORITHM}${old_hash}"


class ParallelHasher:
    """Hashes each batch's plain passwords on all cores, one batch ahead of the writer."""

    def __init__(self, recipe: passwords.HashRecipe, workers: int | None = None) -> None:
        self.recipe = recipe
        self.workers = workers or os.cpu_count() or 1
        self.batch_size = 8 * self.workers  # a few seconds of bcrypt between two commits

    def hashed_batches(self, batches: Iterable[list[ImportRow]]
                       ) -> Iterator[tuple[list[ImportRow], dict[int, str]]]:
        """(batch, {row number: stored hash}) in order; the plain passwords of a batch are
        dropped from its rows once they are hashed."""
        with ThreadPoolExecutor(self.workers, thread_name_prefix="import-hash") as pool:
            pending: tuple[list[ImportRow], list[tuple[int, Future]]] | None = None
            try:
                for batch in batches:
                    submitted = (batch, self._submit(pool, batch))
                    if pending is not None:
                        yield self._collect(*pending)
                    pending = submitted
                if pending is not None:
                    yield self._collect(*pending)
            finally:
                pool.shutdown(wait=True, cancel_futures=True)  # a cancelled job stops here

    def _submit(self, pool: ThreadPoolExecutor, batch: list[ImportRow]
                ) -> list[tuple[int, Future]]:
        return [(row.number, pool.submit(passwords.hash_secret, row.secret, self.recipe))
                for row in batch if row.secret]

    def _collect(self, batch: list[ImportRow], futures: list[tuple[int, Future]]
                 ) -> tuple[list[ImportRow], dict[int, str]]:
        hashes = {number: future.result() for number, future in futures}
        for row in batch:
            row.secret = ""
        return batch, hashes
