"""What the bulk assign does with each person in scope: a user name and PIN, or an exception
with its reason. The same decisions serve the dry run and the real run."""

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from clerkdesk.models import WebAccount

from . import passwords
from .bulk_targets import Scope, Target, suspected_duplicates
from .errors import ValidationError
from .household_passwords import recipe
from .pin_rules import PinRule, parse_pin_rule, pattern_pin
from .settings import password_policy
from .username_rules import NO_EMAIL, NameParts, RuleProblem, compile_rule, make_username
from .usernames import normalise_username, username_key
from .validation import is_valid_email

ALREADY_HAS_CREDENTIALS = "already has credentials"
COLLISION = "collision"
SUSPECTED_DUPLICATE = "suspected duplicate household"
MAX_SUFFIX = 999
_TODO = {
    NO_EMAIL: "Add a valid email address in Household Maintenance, then re-run for "
              "exceptions only.",
    "missing name parts": "Fill in the missing name, client ID or other detail in Household "
                          "Maintenance, then re-run for exceptions only.",
    COLLISION: "Choose a user name for this household in Web Details.",
    "invalid characters": "Type a user name for this household in Web Details.",
    ALREADY_HAS_CREDENTIALS: "Nothing, if the existing login is right; otherwise run again "
                             "with overwrite.",
    SUSPECTED_DUPLICATE: "Check whether it is the same family; merge the households or set the "
                         "login by hand in Web Details.",
}


@dataclass(frozen=True)
class Decision:
    target: Target
    outcome: str  # "assigned" or "exception"
    username: str = ""
    pin: str = ""  # a pattern PIN, only in memory until it is hashed; never stored or shown
    reason: str = ""
    detail: str = ""

    @property
    def what_to_do(self) -> str:
        return what_to_do(self.reason)

    @property
    def overwrites_live_login(self) -> bool:
        existing = self.target.existing
        return self.outcome == "assigned" and existing is not None and existing.used

    def __repr__(self) -> str:  # a pattern PIN must not reach a log or a traceback
        return (f"Decision(household={self.target.household_id}, member={self.target.member_id}"
                f", outcome={self.outcome!r}, username={self.username!r}, "
                f"reason={self.reason!r})")


class Namespace:
    """Which user-name keys are taken. The real run asks the database, where earlier batches
    are committed; the dry run also remembers what it would have claimed. A name an
    overwrite gives up stays taken for the rest of the run, in both."""

    def __init__(self, remember: bool) -> None:
        self.remember = remember
        self.claimed: dict[str, int] = {}  # key -> household that would hold it
        self._holders: dict[str, int] = {}

    def load(self, keys: set[str]) -> None:
        """Ask the database about many keys at once."""
        for key in keys:
            self._holders.setdefault(key, 0)
        for key, account_id in (WebAccount.select(WebAccount.username_key, WebAccount.id)
                                .where(WebAccount.username_key.in_(list(keys))).tuples()):
            self._holders[key] = account_id

    def holder(self, key: str, own_account: int | None) -> str:
        """"" when the key is free for this target, else who holds it."""
        if key in self.claimed:
            return f"household {self.claimed[key]} in this run"
        if key not in self._holders:
            account = WebAccount.get_or_none(WebAccount.username_key == key)
            self._holders[key] = account.id if account else 0
        holder = self._holders[key]
        return "an existing web account" if holder and holder != own_account else ""

    def claim(self, key: str, household_id: int) -> None:
        self.claimed[key] = household_id


class Decider:
    def __init__(self, usernames: str, pins: str, only_with_email: bool, overwrite: bool,
                 on_collision: str, scope: Scope) -> None:
        self.pattern = compile_rule(usernames)
        self.pin_rule: PinRule = parse_pin_rule(pins)
        self.only_with_email, self.overwrite = only_with_email, overwrite
        self.on_collision, self.scope = on_collision, scope
        self.duplicates = suspected_duplicates()
        self.workers = os.cpu_count() or 1
        self.hashing_batch = 8 * self.workers  # a few seconds of hashing between commits

    def decide(self, targets: list[Target], namespace: Namespace) -> list[Decision]:
        decisions = [self._first_pass(target) for target in targets]
        namespace.load({username_key(d.username) for d in decisions if d.username})
        final = []
        for decision in decisions:
            if decision is None:
                continue
            if decision.outcome == "assigned":
                decision = self._claim(decision, namespace)
            final.append(decision)
        if not namespace.remember:
            namespace.claimed.clear()  # the batch is committed before the next is decided
        return final

    def _first_pass(self, target: Target) -> Decision | None:
        existing = target.existing
        if existing is not None and not self.overwrite:
            if self.scope.kind == "without-account" or self.scope.retry_of is not None:
                return None  # out of scope: not an exception
            return _exception(target, ALREADY_HAS_CREDENTIALS, f"has the login "
                              f"“{existing.username}”" + (", used" if existing.used else ""))
        original = self.duplicates.get(target.household_id)
        if original is not None:
            return _exception(target, SUSPECTED_DUPLICATE, f"looks like household {original}")
        try:
            if self.only_with_email:
                _require_email(target.email)
            username = normalise_username(make_username(self.pattern, _parts(target)))
            pin = "" if self.pin_rule.minted_at_delivery \
                else pattern_pin(self.pin_rule, _parts(target))
        except RuleProblem as problem:
            return _exception(target, problem.reason, problem.detail)
        except ValidationError as error:
            return _exception(target, "invalid characters", error.message)
        return Decision(target, "assigned", username, pin)

    def _claim(self, decision: Decision, namespace: Namespace) -> Decision:
        target, base = decision.target, decision.username
        own = target.existing.id if target.existing else None
        for suffix in range(1, MAX_SUFFIX + 1):
            name = base if suffix == 1 else f"{base}{suffix}"
            holder = namespace.holder(username_key(name), own)
            if not holder:
                namespace.claim(username_key(name), target.household_id)
                return Decision(target, "assigned", name, decision.pin)
            if self.on_collision == "exception":
                return _exception(target, COLLISION, f"“{base}” is already used by {holder}")
        return _exception(target, COLLISION, f"“{base}” and {MAX_SUFFIX - 1} numbered "
                          "variants are all taken")

    def hash_pins(self, decisions: list[Decision]) -> dict[int, str]:
        """{index in decisions: hash} for pattern PINs, hashed on every core at once (bcrypt
        releases the GIL)."""
        if self.pin_rule.minted_at_delivery:
            return {}
        wanted = [i for i, d in enumerate(decisions) if d.outcome == "assigned"]
        hash_recipe = recipe(password_policy())
        with ThreadPoolExecutor(self.workers) as pool:
            hashed = pool.map(lambda i: passwords.hash_secret(decisions[i].pin, hash_recipe),
                              wanted)
            return dict(zip(wanted, hashed, strict=True))


def what_to_do(reason: str) -> str:
    return _TODO.get(reason, "")


def _parts(target: Target) -> NameParts:
    return NameParts(target.first, target.last, target.client_id, target.email, target.phone,
                     target.postal, target.birth)


def _require_email(address: str) -> None:
    if not address.strip():
        raise RuleProblem(NO_EMAIL, "no email address on file")
    if not is_valid_email(address):
        raise RuleProblem(NO_EMAIL, f"“{address[:80]}” is not a valid email address")


def _exception(target: Target, reason: str, detail: str) -> Decision:
    return Decision(target, "exception", reason=reason, detail=detail)
