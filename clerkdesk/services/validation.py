"""Shared checks on text typed by people; each failure names the field and what to fix."""

import re
import unicodedata

from email_validator import EmailNotValidError, validate_email

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
