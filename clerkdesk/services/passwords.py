"""How secrets are stored: bcrypt over a SHA-256 pre-hash, with the recipe in the stored text.

Stored form: ``bcrypt-sha256$<cs|ci>$<bcrypt hash>``. The pre-hash lets any length work (bcrypt
reads only 72 bytes) while two long secrets sharing a 72-byte prefix still differ; ``cs``/``ci``
records whether the secret was case-folded, so a later policy change keeps old logins working.
The bcrypt part carries its own cost, which `needs_rehash` compares with today's.

An old portal's own bcrypt hash, brought in by an import, is stored as ``bcrypt$<$2a$/$2b$/$2y$
hash>``: it was made from the raw password, so it is checked that way, and `needs_rehash` is
true for it, so the first correct sign-in replaces it with today's recipe.
"""

import base64
import hashlib
import re
import unicodedata
from dataclasses import dataclass

import bcrypt

ALGORITHM = "bcrypt-sha256"
OLD_BCRYPT = "bcrypt"  # an imported hash of the raw password (clerkdesk.services.imports)
_OLD_BCRYPT_HASH = re.compile(r"\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}")


@dataclass(frozen=True)
class HashRecipe:
    cost: int
    case_sensitive: bool = True


def hash_secret(secret: str, recipe: HashRecipe) -> str:
    key = _prehash(secret, recipe.case_sensitive)
    hashed = bcrypt.hashpw(key, bcrypt.gensalt(rounds=recipe.cost)).decode("ascii")
    return f"{ALGORITHM}${_case_tag(recipe.case_sensitive)}${hashed}"


def verify_secret(secret: str, stored: str | None) -> bool:
    """True when `secret` matches `stored`; a missing or malformed hash never matches."""
    if stored and stored.startswith(OLD_BCRYPT + "$$2"):
        return _verify_old_bcrypt(secret, stored.removeprefix(OLD_BCRYPT + "$"))
    parsed = _parse(stored)
    if parsed is None:
        return False
    case_sensitive, hashed = parsed
    return bcrypt.checkpw(_prehash(secret, case_sensitive), hashed)


def _verify_old_bcrypt(secret: str, hashed: str) -> bool:
    """As the old system checked it: the raw UTF-8 bytes (bcrypt read only the first 72; bcrypt
    5 refuses more), case kept, whatever today's policy says."""
    if not _OLD_BCRYPT_HASH.fullmatch(hashed):
        return False
    key = secret.encode("utf-8", "surrogatepass")[:72]
    return bcrypt.checkpw(key, hashed.encode("ascii"))


def needs_rehash(stored: str | None, recipe: HashRecipe) -> bool:
    parsed = _parse(stored)
    if parsed is None:
        return True
    case_sensitive, hashed = parsed
    return case_sensitive != recipe.case_sensitive or _cost_of(hashed) != recipe.cost


def burn_equivalent_time(secret: str, cost: int) -> None:
    """Spend what checking a real hash of this cost would: an unknown user costs the same.

    The first call per cost hashes instead (the same work as one check) and keeps the result
    as the dummy, so even the first unknown user after start-up takes no longer.
    """
    key = _prehash(secret, True)
    dummy = _dummies.get(cost)
    if dummy is None:
        _dummies[cost] = bcrypt.hashpw(key, bcrypt.gensalt(rounds=cost))
        return
    bcrypt.checkpw(key, dummy)


def _prehash(secret: str, case_sensitive: bool) -> bytes:
    normalised = unicodedata.normalize("NFKC", secret)
    if not case_sensitive:
        normalised = normalised.casefold()
    digest = hashlib.sha256(normalised.encode("utf-8", "surrogatepass")).digest()
    # base64 keeps NUL bytes out of bcrypt's input and fits in its 72 bytes.
    return base64.b64encode(digest)


def _case_tag(case_sensitive: bool) -> str:
    return "cs" if case_sensitive else "ci"


def _parse(stored: str | None) -> tuple[bool, bytes] | None:
    if not stored:
        return None
    parts = stored.split("$", 2)
    if len(parts) != 3 or parts[0] != ALGORITHM or parts[1] not in ("cs", "ci"):
        return None
    return parts[1] == "cs", parts[2].encode("ascii")


def _cost_of(hashed: bytes) -> int:
    try:
        return int(hashed.split(b"$")[2])
    except (IndexError, ValueError):
        return -1


_dummies: dict[int, bytes] = {}  # cost -> a hash nobody's password matches but by chance
