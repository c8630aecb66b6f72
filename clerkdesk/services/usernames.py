"""Portal user names: trimmed, normalised, compared without regard to case, any length."""

import hashlib

from .validation import clean_text, fold_key

MAX_LENGTH = 10_000
# Keys longer than this are stored as a digest, so PostgreSQL's unique b-tree index still
# takes them (it refuses entries over ~2,700 bytes); two names still never share a key.
_LONGEST_PLAIN_KEY = 200


def normalise_username(value: object) -> str:
    """The user name as it will be shown: trimmed, NFC, no control characters."""
    return clean_text("user name", value, max_length=MAX_LENGTH, required=True)


def username_key(username: str) -> str:
    """What the unique index holds: the case-folded name, or its digest when very long."""
    folded = fold_key(username)
    if len(folded) <= _LONGEST_PLAIN_KEY:
        return folded
    return "#sha256:" + hashlib.sha256(folded.encode("utf-8")).hexdigest()
