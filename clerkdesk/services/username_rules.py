"""Rules that make a portal user name from household data, for the bulk assign.

Built-in rules: WebReg's (first letter of the first name, first four letters of the last
name, last three characters of the client ID, all lower case), the email address, the client
ID, first.last; or a pattern of tokens such as ``{first:1}{last:4}{id:-3}``. Names are
folded to plain letters and digits (accents, apostrophes, spaces and hyphens go), and short
names or IDs simply give a shorter result.
"""

import re
from dataclasses import dataclass

from anyascii import anyascii

from .errors import ValidationError

BUILT_IN = {
    "webreg": "{first:1}{last:4}{id:-3}",
    "client-id": "{id}",
    "first.last": "{first}.{last}",
    "email": "{email}",
}
_TOKEN = re.compile(r"\{(first|last|id|email|phone|postal|birth)(?::(-?\d+))?\}")
_PLAIN = re.compile(r"[^a-z0-9]")
_LITERAL = re.compile(r"^[a-z0-9._-]*$")


@dataclass(frozen=True)
class NameParts:
    first: str
    last: str
    client_id: str
    email: str
    phone: str = ""  # digits
    postal: str = ""
    birth: str = ""  # YYYYMMDD


class RuleProblem(Exception):
    """Why one household cannot get a user name from the rule (an exception row)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


MISSING_PARTS, INVALID_CHARACTERS, NO_EMAIL = ("missing name parts", "invalid characters",
                                               "no email")


def compile_rule(rule: str) -> str:
    """The pattern for a rule name or a custom pattern; a bad pattern is a ValidationError."""
    pattern = BUILT_IN.get((rule or "").strip().lower(), (rule or "").strip())
    if not pattern or not _TOKEN.search(pattern):
        raise ValidationError("usernames", "A pattern needs at least one of {first}, {last}, "
                              "{id}, {email}, {phone}, {postal} or {birth}, e.g. "
                              "{first:1}{last:4}{id:-3}.")
    literal = _TOKEN.sub("", pattern)
    if not _LITERAL.match(literal):
        raise ValidationError("usernames", f"Between the tokens a pattern may hold only "
                              f"letters, digits and . _ - (not “{literal[:60]}”).")
    return pattern


def make_username(pattern: str, parts: NameParts) -> str:
    """Apply the pattern; RuleProblem names what is missing."""
    def fill(match: re.Match) -> str:
        field, length = match.group(1), match.group(2)
        value = _value(field, parts)
        if not value:
            raise _missing(field)
        if length is None:
            return value
        count = int(length)
        return value[count:] if count < 0 else value[:count]

    return pattern_result(_TOKEN.sub(fill, pattern))


def pattern_result(text: str) -> str:
    result = text.strip("._-")
    if not result:
        raise RuleProblem(INVALID_CHARACTERS, "nothing usable is left of the name")
    return result


def _value(field: str, parts: NameParts) -> str:
    if field == "email":
        return parts.email.strip().lower()
    raw = {"first": parts.first, "last": parts.last, "id": parts.client_id,
           "phone": parts.phone, "postal": parts.postal, "birth": parts.birth}[field]
    return _PLAIN.sub("", anyascii(raw or "").lower())


def _missing(field: str) -> RuleProblem:
    if field == "email":
        return RuleProblem(NO_EMAIL, "no email address on file")
    what = {"first": "no first name", "last": "no last name", "id": "no client ID",
            "phone": "no phone number", "postal": "no postal code", "birth": "no birth date"}
    return RuleProblem(MISSING_PARTS, what[field])
