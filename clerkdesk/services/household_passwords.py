"""Rules for the passwords and PINs households use, and minting temporary ones.

Following NIST SP 800-63B: a minimum length, no composition rules, no forced periodic change,
and a password the household chooses is refused when it is a known common password or the
user name itself.
"""

import functools
import secrets

from zxcvbn.frequency_lists import FREQUENCY_LISTS

from . import passwords
from .errors import ValidationError
from .settings import PolicyView, bcrypt_cost
from .validation import fold_key

MAX_LENGTH = 100_000
# No 0/o, 1/l/i: a temporary password is read out at the counter.
_READABLE = "abcdefghjkmnpqrstuvwxyz23456789"


def check_new_password(password: object, confirm: object, username: str,
                       policy: PolicyView, *, chosen_by_household: bool = True) -> str:
    if not isinstance(password, str) or password == "":
        raise ValidationError("password", "Enter the new password.")
    if password != confirm:
        raise ValidationError("confirm", "The passwords do not match.")
    if len(password) > MAX_LENGTH:
        raise ValidationError("password", f"The password is too long: {len(password):,} "
                              f"characters, at most {MAX_LENGTH:,}.")
    if "\x00" in password:
        raise ValidationError("password", "The password contains a NUL character.")
    if len(password) < policy.min_length:
        raise ValidationError("password", f"The password is too short: the password policy "
                              f"asks for at least {policy.min_length} characters.")
    if chosen_by_household and fold_key(password) == fold_key(username):
        raise ValidationError("password", "The password cannot be the user name.")
    if chosen_by_household and fold_key(password) in _common_passwords():
        raise ValidationError("password", "That password is one of the most common passwords; "
                              "choose another.")
    return password


def mint_temporary_password() -> str:
    """About 50 random bits, grouped for reading aloud: e.g. ``k7qpx-m4t2r``."""
    characters = "".join(secrets.choice(_READABLE) for _ in range(10))
    return f"{characters[:5]}-{characters[5:]}"


def recipe(policy: PolicyView) -> passwords.HashRecipe:
    return passwords.HashRecipe(cost=bcrypt_cost(), case_sensitive=policy.case_sensitive)


@functools.cache
def _common_passwords() -> frozenset[str]:
    return frozenset(fold_key(word) for word in FREQUENCY_LISTS["passwords"])
