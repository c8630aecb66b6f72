"""How the bulk assign makes PINs: a random number in a range, a random number of N digits,
or a pattern from household data.

Random PINs are not made at assign time: the account keeps the rule, and the PIN is minted
when the credentials are delivered (email, letter), so it exists in plain text only in that
message. A pattern PIN can be worked out from the household's data, so it is hashed at once.
"""

import re
import secrets
from dataclasses import dataclass

from .errors import ValidationError
from .username_rules import NameParts, RuleProblem, compile_rule, make_username

DEFAULT_RANGE = (12_345_678, 87_654_321)  # WebReg's
MIN_DIGITS, MAX_DIGITS = 4, 12
MIN_PATTERN_PIN = 4
_RANGE = re.compile(r"^range:(\d{1,12})-(\d{1,12})$")
_DIGITS = re.compile(r"^digits:(\d{1,2})$")


@dataclass(frozen=True)
class PinRule:
    kind: str  # "range", "digits" or "pattern"
    low: int = 0
    high: int = 0
    digits: int = 0
    pattern: str = ""

    @property
    def minted_at_delivery(self) -> bool:
        return self.kind != "pattern"

    @property
    def stored(self) -> str:
        """The rule an account keeps until its PIN is minted ("" for a pattern)."""
        if self.kind == "range":
            return f"range:{self.low}-{self.high}"
        return f"digits:{self.digits}" if self.kind == "digits" else ""

    def describe(self) -> str:
        if self.kind == "range":
            return f"a random number from {self.low} to {self.high}"
        if self.kind == "digits":
            return f"a random number of {self.digits} digits"
        return f"the pattern {self.pattern}"


def parse_pin_rule(text: object) -> PinRule:
    """`random`, `range:LOW-HIGH`, `digits:N` or a pattern such as `{phone:-4}{id:-4}`."""
    rule = str(text or "").strip()
    if rule.lower() in ("", "random"):
        return PinRule("range", *DEFAULT_RANGE)
    if found := _RANGE.match(rule):
        return _range_rule(int(found.group(1)), int(found.group(2)))
    if found := _DIGITS.match(rule):
        return _digits_rule(int(found.group(1)))
    if rule.lower().startswith(("range:", "digits:")):
        raise ValidationError("pins", f"“{rule[:60]}” is not a PIN rule: write range:LOW-HIGH "
                              f"(e.g. range:12345678-87654321) or digits:N (e.g. digits:6).")
    try:
        return PinRule("pattern", pattern=compile_rule(rule))
    except ValidationError:
        raise ValidationError("pins", "A PIN is random, range:LOW-HIGH, digits:N, or a pattern "
                              "such as {phone:-4}{id:-4}.") from None


def _range_rule(low: int, high: int) -> PinRule:
    if low >= high:
        raise ValidationError("pins", "The lowest PIN must be smaller than the highest.")
    if len(str(low)) < MIN_DIGITS:
        raise ValidationError("pins", f"PINs need at least {MIN_DIGITS} digits: start the "
                              f"range at {10 ** (MIN_DIGITS - 1)} or above.")
    return PinRule("range", low, high)


def _digits_rule(digits: int) -> PinRule:
    if not MIN_DIGITS <= digits <= MAX_DIGITS:
        raise ValidationError("pins", f"A random PIN has {MIN_DIGITS} to {MAX_DIGITS} digits.")
    return PinRule("digits", digits=digits)


def pattern_pin(rule: PinRule, parts: NameParts) -> str:
    """The PIN a pattern gives for one household; RuleProblem when it cannot be made."""
    pin = make_username(rule.pattern, parts)
    if len(pin) < MIN_PATTERN_PIN:
        raise RuleProblem("missing name parts", f"the PIN pattern gives only {len(pin)} "
                          f"characters; at least {MIN_PATTERN_PIN} are needed")
    return pin


def mint_pin(stored: str) -> str:
    """A fresh PIN for an account's stored rule, at delivery time."""
    rule = parse_pin_rule(stored)
    if rule.kind == "range":
        return str(rule.low + secrets.randbelow(rule.high - rule.low + 1))
    if rule.kind == "digits":
        first = 1 + secrets.randbelow(9)  # no leading zero: spreadsheets and letters drop it
        return str(first) + "".join(str(secrets.randbelow(10)) for _ in range(rule.digits - 1))
    raise ValueError("a pattern PIN is hashed when it is assigned, not minted")
