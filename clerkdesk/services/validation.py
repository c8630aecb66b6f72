"""Shared checks on text typed by people; each failure names the field and what to fix."""

import functools
import re
import unicodedata

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from .errors import ValidationError

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def clean_text(field: str, value: object, *, max_length: int, required: bool = False) -> str:
    """Trimmed, NFC-normalised text without control characters, or a ValidationError."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(field, f"{field.capitalize()} must be text.")
    text = unicodedata.normalize("NFC", value.strip())
    if required and not text:
        raise ValidationError(field, f"Enter the {field}.")
    if _CONTROL.search(text):
        raise ValidationError(
            field, f"The {field} contains a control character (such as a tab or line break)."
        )
    if len(text) > max_length:
        raise ValidationError(
            field, f"The {field} is too long: {len(text):,} characters, at most {max_length:,}."
        )
    return text


def fold_key(text: str) -> str:
    """The case-insensitive key names are compared and indexed by."""
    return unicodedata.normalize("NFKC", text).casefold()


def normalise_email(field: str, value: str) -> str:
    """A syntactically valid address in its normal form (no DNS look-up: desks may be offline)."""
    text = clean_text(field, value, max_length=320, required=True)
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise ValidationError(field, f"“{text[:80]}” is not a valid email address: {error}") \
            from None


# The plain form almost every address on file takes: dot-atoms, ASCII, a letter TLD.
_PLAIN_ADDRESS = re.compile(
    r"(?=[^@]{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")


def is_plain_address(address: str) -> bool:
    """True for the ordinary address almost every record has (dot-atoms, ASCII, a letter TLD,
    no special-use domain): such an address passes `normalise_email` unchanged. False means
    only "check it in full"."""
    return len(address) <= 254 and bool(_PLAIN_ADDRESS.fullmatch(address)) \
        and _ordinary_domain(address.rsplit("@", 1)[1].lower())


@functools.lru_cache(maxsize=4096)  # a file or a town has few domains: test each once
def _ordinary_domain(domain: str) -> bool:
    return not any(domain == name or domain.endswith("." + name)
                   for name in SPECIAL_USE_DOMAIN_NAMES)


def is_valid_email(address: str) -> bool:
    """Whether `address` passes `normalise_email`. A plain address is recognised by a pattern
    first: the full check costs ~70 µs, which a bulk job over 100,000 households feels."""
    if is_plain_address(address):
        return True
    try:
        normalise_email("email", address)
    except ValidationError:
        return False
    return True
