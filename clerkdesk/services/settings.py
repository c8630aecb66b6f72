"""Site settings: one registry of typed keys, read by every service, changed by administrators.

Keys under ``password_policy.`` live in the PasswordPolicy row (the "password device");
the rest are JSON values in the Setting table. An unset key reads as its default.
"""

import functools
import json
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar
from urllib.parse import urlsplit

import phonenumbers

from clerkdesk.models import PasswordPolicy, Setting
from clerkdesk.models.settings import DEFAULT_LOCKED_MESSAGE, DEFAULT_POLICY_NAME

from . import audit
from .errors import ValidationError
from .permissions import Permission, require
from .session import StaffSession
from .unit_of_work import transactional
from .validation import clean_text, normalise_email

log = logging.getLogger(__name__)
BCRYPT_COST_OVERRIDE = "CLERKDESK_BCRYPT_COST"
_POLICY_PREFIX = "password_policy."
_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n"}
P, R = ParamSpec("P"), TypeVar("R")
RECENT_SECONDS = 5.0
_recent: dict[str, tuple[float, object]] = {}  # key -> (when read, value)

Value = int | bool | str


@dataclass(frozen=True)
class SettingSpec:
    key: str
    label: str
    default: Value
    help: str = ""
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    multiline: bool = False

    @property
    def kind(self) -> type:
        return type(self.default)


SPECS: tuple[SettingSpec, ...] = (
    SettingSpec("password_policy.max_attempts", "Maximum incorrect attempts", 0,
                "Failed portal sign-ins before the account locks; 0 means unlimited.", 0, 100),
    SettingSpec("password_policy.final_attempt_warning", "Warn before the final attempt", True,
                "Tell the household when one attempt is left."),
    SettingSpec("password_policy.locked_message", "Locked message", DEFAULT_LOCKED_MESSAGE,
                "Shown on the portal when an account is locked.", multiline=True),
    SettingSpec("password_policy.case_sensitive", "Passwords are case-sensitive", False,
                "Off by default: “Secret” and “SECRET” are the same password."),
    SettingSpec("password_policy.min_length", "Minimum password length", 8,
                "Shortest password a household may choose.", 1, 128),
    SettingSpec("password_policy.auto_unlock_minutes", "Unlock automatically after (minutes)", 0,
                "0 means only a clerk can unlock a locked account.", 0, 10080),
    SettingSpec("security.bcrypt_cost", "Password hashing cost (bcrypt)", 12,
                "Each step up doubles the time a sign-in takes to check.", 12, 16),
    SettingSpec("staff.max_failed_sign_ins", "Staff sign-in attempts before lockout", 5,
                "Wrong passwords in a row before a staff account is locked.", 1, 100),
    SettingSpec("staff.lockout_minutes", "Staff lockout (minutes)", 15,
                "How long a locked staff account waits before it may try again.", 1, 1440),
    SettingSpec("staff.min_password_length", "Minimum staff password length", 10,
                "Shortest password a staff member may have.", 8, 128),
    SettingSpec("portal.url", "Portal address", "",
                "The web portal households sign in to, e.g. https://portal.example.org."),
    SettingSpec("portal.allow_self_change", "Households may change user name and password", True,
                "When off, households cannot change them after signing in."),
    SettingSpec("security.temporary_password_days", "Temporary passwords expire after (days)", 7,
                "A password a clerk mints or types must be changed before this.", 1, 90),
    SettingSpec("security.reset_token_minutes", "Reset links expire after (minutes)", 60,
                "How long a forgot-password link works.", 5, 10080),
    SettingSpec("security.forgot_requests_per_hour", "Reset emails per account per hour", 3,
                "More forgot-password requests than this in an hour send nothing.", 1, 50),
    SettingSpec("email.mode", "Email delivery", "smtp",
                "smtp sends real mail; capture writes each message to the capture folder "
                "instead (rehearsal: nothing leaves).", choices=("smtp", "capture")),
    SettingSpec("email.capture_folder", "Capture folder", "",
                "Where captured messages go; empty means “captured-mail” in the data folder."),
    SettingSpec("email.smtp_host", "SMTP server", "", "e.g. smtp.example.org"),
    SettingSpec("email.smtp_port", "SMTP port", 587, "587 for STARTTLS, 465 for SSL.", 1, 65535),
    SettingSpec("email.smtp_security", "SMTP security", "starttls",
                "How the connection is encrypted.", choices=("starttls", "ssl", "none")),
    SettingSpec("email.smtp_verify_certificate", "Check the mail server's certificate", True,
                "Leave on: it stops anyone between this desk and the server from reading the "
                "SMTP password and the mailed PINs. Turn off only for your own server with a "
                "self-signed certificate."),
    SettingSpec("email.smtp_user", "SMTP user", "",
                "Leave empty when the server needs no sign-in. The password is kept in the "
                "OS keyring (clerkdesk email password)."),
    SettingSpec("email.from_address", "From address", "", "e.g. frontdesk@example.org"),
    SettingSpec("email.from_name", "From name", "Front Desk", "Shown as the sender's name."),
    SettingSpec("email.rate_per_minute", "Messages per minute (bulk)", 0,
                "The most the outbox sends in a minute; 0 means no limit. Stay under your "
                "mail server's volume limits.", 0, 100_000),
    SettingSpec("email.rate_per_hour", "Messages per hour (bulk)", 0,
                "The most the outbox sends in an hour; 0 means no limit.", 0, 1_000_000),
    SettingSpec("sms.provider", "Text messages go through", "capture",
                "capture writes each text to the capture folder; email-gateway mails it to "
                "NUMBER@gateway domain, which your text provider turns into a text.",
                choices=("capture", "email-gateway")),
    SettingSpec("sms.gateway_domain", "Email-to-SMS gateway domain", "",
                "e.g. sms.example-carrier.com; texts go to 15551234567@that domain."),
    SettingSpec("accounts.per_member", "Each member gets a web account of their own", False,
                "When on, each member (contact) has a login of their own."),
    SettingSpec("accounts.welcome_email", "Send a welcome email when an account becomes active",
                False, "The email holds a link to choose a password, never a password."),
    SettingSpec("accounts.login_id_is_phone", "A contact's login ID is their phone number",
                False, "When on, a contact's own login uses their phone number (written as "
                "+15550102030) as the login ID, with a PIN minted when the credentials are "
                "sent."),
    SettingSpec("security.login_link_hours", "Sign-in links expire after (hours)", 24,
                "How long an emailed one-time sign-in link works.", 1, 168),
    SettingSpec("security.sign_up_link_days", "Sign-up links expire after (days)", 14,
                "How long a link inviting an existing household to sign up works.", 1, 90),
    SettingSpec("security.welcome_link_days", "Welcome links expire after (days)", 7,
                "How long the choose-your-password link in a welcome email works.", 1, 90),
    SettingSpec("phone.region", "Phone number region", "US",
                "Two-letter country code used to read phone numbers without a +prefix."),
)
SPEC_BY_KEY = {spec.key: spec for spec in SPECS}


@dataclass(frozen=True)
class PolicyView:
    max_attempts: int
    final_attempt_warning: bool
    locked_message: str
    case_sensitive: bool
    min_length: int
    auto_unlock_minutes: int


def spec_for(key: str) -> SettingSpec:
    try:
        return SPEC_BY_KEY[key]
    except KeyError:
        known = ", ".join(sorted(SPEC_BY_KEY))
        raise ValidationError("key", f"There is no setting “{key}”. Known settings: {known}.")\
            from None


def get_setting(key: str) -> Value:
    spec = spec_for(key)
    if key.startswith(_POLICY_PREFIX):
        return getattr(_policy_row(), key.removeprefix(_POLICY_PREFIX))
    row = Setting.get_or_none(Setting.key == key)
    return spec.default if row is None else json.loads(row.value)


def recent_setting(key: str, max_age: float = RECENT_SECONDS) -> Value:
    """The setting as read at most `max_age` seconds ago by this process, for what a website
    asks many times a second. A change made through this process is seen at once; one made
    at another desk, within `max_age`."""
    now = time.monotonic()
    cached = _recent.get(key)
    if cached is not None and now - cached[0] < max_age:
        return cached[1]
    value = get_setting(key)
    _recent[key] = (now, value)
    return value


def required_portal_url() -> str:
    """The portal address links are made with, without a trailing slash; a clear refusal
    when none is set."""
    url = str(get_setting("portal.url")).rstrip("/")
    if not url:
        raise ValidationError("portal.url", "Set the portal address (Settings → Portal) "
                              "before sending links.")
    return url


def forget_recent() -> None:
    """Drop what `recent_setting` remembers (a setting changed, another database opened)."""
    _recent.clear()


def all_settings() -> list[tuple[SettingSpec, Value]]:
    return [(spec, get_setting(spec.key)) for spec in SPECS]


def _then_forget_recent(service: Callable[P, R]) -> Callable[P, R]:
    """Once the change has committed (or failed), `recent_setting` reads afresh. Forgetting
    any earlier would let another thread cache the old value again before the commit."""

    @functools.wraps(service)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return service(*args, **kwargs)
        finally:
            forget_recent()

    return run


@_then_forget_recent
@transactional
def set_setting(actor: StaffSession, key: str, value: object) -> Value:
    """Validate and store one setting (text from a CLI or form is converted)."""
    return _store(actor, key, value)


@_then_forget_recent
@transactional
def set_settings(actor: StaffSession, changes: dict[str, object]) -> None:
    """Store several settings at once: one bad value and none of them change."""
    for key, value in changes.items():
        _store(actor, key, value)


def _store(actor: StaffSession, key: str, value: object) -> Value:
    require(actor, Permission.SETTINGS_EDIT)
    spec = spec_for(key)
    new = parse_value(spec, value)
    old = get_setting(key)
    if key.startswith(_POLICY_PREFIX):
        policy = _policy_row()
        setattr(policy, key.removeprefix(_POLICY_PREFIX), new)
        policy.save()
    else:
        Setting.insert(key=key, value=json.dumps(new)).on_conflict(
            conflict_target=[Setting.key], preserve=[Setting.value]
        ).execute()
    audit.record(actor, "settings.set", "setting", key, old=old, new=new)
    return new


def parse_value(spec: SettingSpec, value: object) -> Value:
    if spec.kind is bool:
        return _parse_bool(spec, value)
    if spec.kind is int:
        return _parse_int(spec, value)
    text = clean_text(spec.label.lower(), value, max_length=2000)
    return _check_text(spec, text)


def password_policy() -> PolicyView:
    row = _policy_row()
    return PolicyView(row.max_attempts, row.final_attempt_warning, row.locked_message,
                      row.case_sensitive, row.min_length, row.auto_unlock_minutes)


def bcrypt_cost() -> int:
    """The configured cost; test suites and demos may lower it through the environment."""
    override = os.environ.get(BCRYPT_COST_OVERRIDE)
    if override:
        return max(4, min(16, int(override)))
    return int(get_setting("security.bcrypt_cost"))


def seed_value(key: str, value: Value) -> None:
    """Store a setting without an actor: only for seeding a new (demo) database."""
    spec = spec_for(key)
    Setting.insert(key=key, value=json.dumps(parse_value(spec, value))).on_conflict(
        conflict_target=[Setting.key], preserve=[Setting.value]).execute()
    forget_recent()


def ensure_policy() -> None:
    PasswordPolicy.get_or_create(name=DEFAULT_POLICY_NAME)


def _policy_row() -> PasswordPolicy:
    return PasswordPolicy.get(PasswordPolicy.name == DEFAULT_POLICY_NAME)


def _parse_bool(spec: SettingSpec, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValidationError(spec.key, f"“{spec.label}” takes yes or no, not “{value}”.")


def _parse_int(spec: SettingSpec, value: object) -> int:
    try:
        number = value if isinstance(value, int) and not isinstance(value, bool) \
            else int(str(value).strip())
    except ValueError:
        number = None
    if number is None or not (spec.minimum <= number <= spec.maximum):
        raise ValidationError(
            spec.key,
            f"“{spec.label}” takes a whole number from {spec.minimum} to {spec.maximum}, "
            f"not “{str(value)[:40]}”.",
        )
    return number


def _check_text(spec: SettingSpec, text: str) -> str:
    if spec.choices:
        text = text.lower()
        if text not in spec.choices:
            raise ValidationError(spec.key, f"“{spec.label}” takes one of "
                                  f"{', '.join(spec.choices)}, not “{text[:40]}”.")
    if spec.key == "email.from_address" and text:
        text = normalise_email("email.from_address", text)
    if spec.key == "portal.url" and text:
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValidationError(spec.key, "The portal address must start with https:// "
                                  "(or http://) and name a host.")
    if spec.key == "sms.gateway_domain" and text and not re.fullmatch(
            r"(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}", text):
        raise ValidationError(spec.key, f"“{text[:60]}” is not a domain name, e.g. "
                              "sms.example-carrier.com.")
    if spec.key == "phone.region":
        text = text.upper()
        if text not in phonenumbers.SUPPORTED_REGIONS:
            raise ValidationError(spec.key, f"“{text}” is not a country code phone numbers "
                                  "know, e.g. US, CA, GB, AU.")
    if spec.key == "password_policy.locked_message" and not text:
        raise ValidationError(spec.key, "The locked message cannot be empty.")
    return text
