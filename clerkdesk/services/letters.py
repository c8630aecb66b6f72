"""Credential letters for households a mailing cannot reach by email: their user name and a
PIN minted at the moment of printing (DESIGN decision 2), one page each.

Preparing says what would be printed and changes nothing. Minting stores each new hash in
its own committed transaction, sets must-change, audits without the secret and leaves a case
note; the plain PIN exists only in the returned `Letter`, in memory, for the printer.
"""

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from clerkdesk.models import Household, Member, WebAccount, database, utcnow

from . import audit, case_notes
from .account_store import account_by_id, fresh_credential, hash_for, store_secret
from .errors import NotFound, ValidationError
from .jobs import CancelToken, Job, Progress, ProgressCallback
from .permissions import Permission, require
from .session import StaffSession
from .settings import get_setting, password_policy

MAX_LETTERS = 5_000  # a print run a desk printer finishes in an afternoon
OWN_PASSWORD = "(the password you chose)"
NO_LOGIN = "no web login"
DISABLED = "web login disabled"
PRINTED_ACTION = "web_account.credential_printed"


@dataclass(frozen=True)
class LetterTarget:
    """One letter that would be printed; no secret yet."""

    household_id: int
    client_id: str
    household: str
    address_block: tuple[str, ...]
    web_id: str
    account_id: int
    owner_password: bool  # the household chose its own password: it is not re-minted


@dataclass(frozen=True)
class Refused:
    household_id: int
    client_id: str
    household: str
    reason: str

    @property
    def label(self) -> str:
        return f"{self.household} ({self.client_id}): {self.reason}"


@dataclass(frozen=True)
class LetterPlan:
    letters: list[LetterTarget]
    refused: list[Refused]  # households that get no letter, and why
    reissue: bool

    @property
    def to_mint(self) -> int:
        return sum(not t.owner_password or self.reissue for t in self.letters)


@dataclass(frozen=True)
class Letter:
    household: str
    client_id: str
    address_block: tuple[str, ...]
    web_id: str
    # Plain, for the printer only; kept out of repr so a logged Letter shows no secret.
    secret: str = field(repr=False)
    portal_url: str
    minted: bool  # False: the household keeps the password it chose
    sender: str = ""  # who the letter is from: the site's From name


def prepare_letters(actor: StaffSession, household_ids: Sequence[int],
                    reissue: bool = False) -> LetterPlan:
    """What would be printed for these households, and who gets no letter; mints nothing."""
    require(actor, Permission.BULK_EMAIL)
    ids = _checked_ids(household_ids)
    homes = _households(ids)
    accounts = _own_accounts(ids)
    letters, refused = [], []
    for household_id in ids:
        home, account = homes[household_id], accounts.get(household_id)
        if account is None or account.status != "active":
            refused.append(Refused(household_id, home.client_id, home.name,
                                   NO_LOGIN if account is None else DISABLED))
            continue
        letters.append(LetterTarget(household_id, home.client_id, home.name,
                                    _address_block(home), account.username, account.id,
                                    account.password_source == "owner"))
    return LetterPlan(letters, refused, reissue)


def mint_for_letters(actor: StaffSession, household_ids: Sequence[int], reissue: bool = False,
                     report: ProgressCallback | None = None,
                     cancel: CancelToken | None = None) -> list[Letter]:
    """Mint and return the letters, in the order given. Refuses, changing nothing, when any
    household gets no letter or the portal address is not set. A cancel stops after the
    letter in hand and returns those minted so far: their new PINs must still be printed."""
    plan = prepare_letters(actor, household_ids, reissue)
    if plan.refused:
        shown = "; ".join(r.label for r in plan.refused[:10])
        more = f" and {len(plan.refused) - 10:,} more" if len(plan.refused) > 10 else ""
        raise ValidationError("households", f"{len(plan.refused):,} of these households get "
                              f"no letter — {shown}{more}. Leave them out and print again.")
    portal_url = str(get_setting("portal.url"))
    if not portal_url:
        raise ValidationError("portal", "The portal address is not set (Settings → Portal): "
                              "the letters would carry a PIN the household cannot use.")
    sender = str(get_setting("email.from_name"))
    letters: list[Letter] = []
    for target in plan.letters:
        if cancel is not None and cancel.cancelled:
            break
        letters.append(_letter(actor, target, portal_url, reissue, sender))
        if report is not None:
            report(Progress(len(letters), len(plan.letters),
                            f"{len(letters):,} of {len(plan.letters):,} letters ready"))
    return letters


class MintLetters(Job):
    """Minting runs one slow hash per letter: off the GUI thread, with progress and cancel."""

    title = "Preparing the letters"

    def __init__(self, actor: StaffSession, household_ids: Sequence[int],
                 reissue: bool = False) -> None:
        self.actor, self.household_ids, self.reissue = actor, tuple(household_ids), reissue

    def run(self, report: ProgressCallback, cancel: CancelToken) -> list[Letter]:
        return mint_for_letters(self.actor, self.household_ids, self.reissue, report, cancel)


def _letter(actor: StaffSession, target: LetterTarget, portal_url: str, reissue: bool,
            sender: str) -> Letter:
    keep = target.owner_password and not reissue
    with database.atomic():  # each letter commits alone: a crash keeps those already made
        account = account_by_id(target.account_id)
        secret = OWN_PASSWORD if keep else fresh_credential(account)
        if not keep:
            store_secret(account, hash_for(secret, password_policy()), must_change=True,
                         source="assigned")
        account.credentials_delivered_at = utcnow()
        account.save()
        audit.record(actor, PRINTED_ACTION, "web_account", account.id, account.household_id,
                     minted=not keep)
        what = "Credentials letter" if not keep else "User name letter (own password kept)"
        case_notes.add_system_note(account.household_id, "Web account",
                                   f"{what} printed by {actor.label}.", actor)
    return Letter(target.household, target.client_id, target.address_block, target.web_id,
                  secret, portal_url, not keep, sender)


def _checked_ids(household_ids: Sequence[int]) -> list[int]:
    if isinstance(household_ids, (str, bytes)) or not household_ids:
        raise ValidationError("households", "Choose at least one household to print a "
                              "letter for.")
    if len(household_ids) > MAX_LETTERS:
        raise ValidationError("households", f"{len(household_ids):,} letters are too many "
                              f"for one print run; print at most {MAX_LETTERS:,} at a time.")
    wrong = [i for i in household_ids if not isinstance(i, int) or isinstance(i, bool)]
    if wrong:
        raise ValidationError("households", f"“{str(wrong[0])[:20]}” is not a household "
                              "number.")
    return list(dict.fromkeys(household_ids))  # once each, in the order given


def _households(ids: list[int]) -> dict[int, Household]:
    homes = {h.id: h for h in Household.select().where(Household.id.in_(ids))}
    unknown = [i for i in ids if i not in homes]
    if unknown:
        shown = ", ".join(str(i) for i in unknown[:5])
        raise NotFound(f"{len(unknown):,} of the households chosen do not exist (any more): "
                       f"{shown}. Reload the report and try again.")
    return homes


def _own_accounts(ids: list[int]) -> dict[int, WebAccount]:
    """Each household's own login: its earliest without a member, else its earliest."""
    found: dict[int, WebAccount] = {}
    for account in (WebAccount.select().where(WebAccount.household.in_(ids))
                    .order_by(WebAccount.member.is_null(False), WebAccount.id)):
        found.setdefault(account.household_id, account)
    return found


def _address_block(home: Household) -> tuple[str, ...]:
    person = (Member.select(Member.first_name, Member.last_name)
              .where(Member.household == home.id)
              .order_by(Member.is_primary.desc(), Member.id).first())
    name = f"{person.first_name} {person.last_name}".strip() if person else ""
    town = " ".join(part for part in (f"{home.city}," if home.city else "", home.region,
                                      home.postal_code) if part).rstrip(",")
    lines = (name or home.name, home.name if name and home.name not in name else "",
             home.address_line1, home.address_line2, town)
    return tuple(line for line in lines if line)


# --- printing ---------------------------------------------------------------------------------

LETTER_TEXT = (
    "Our online services are open: you can now sign in to the web portal to see your "
    "account, register for programs and pay online.",
    "Sign in at {portal} with the user name and PIN below. The first time you sign in you "
    "will be asked to choose a password of your own.",
    "This PIN replaces any PIN or password we sent you before. Keep this letter private; "
    "we never keep a copy of the PIN.",
)
CLOSING = "Questions? Call or visit the front desk; we are glad to help."
OWN_PASSWORD_TEXT = (
    "Our online services are open: you can now sign in to the web portal at {portal}.",
    "Your user name is below. Sign in with the password you chose yourself; if you have "
    "forgotten it, use “Forgot password” on the sign-in page.",
)


def letter_html(letters: Sequence[Letter], printed_on: date | None = None) -> str:
    """One page per letter; every value escaped (a name may hold anything)."""
    day = printed_on or date.today()
    pages = [_letter_page(letter, day, new_page=index > 0)
             for index, letter in enumerate(letters)]
    return "<html><body>" + "".join(pages) + "</body></html>"


def _letter_page(letter: Letter, day: date, new_page: bool) -> str:
    portal = html.escape(letter.portal_url)
    texts = LETTER_TEXT if letter.minted else OWN_PASSWORD_TEXT
    paragraphs = "".join(f"<p>{html.escape(text).replace('{portal}', f'<b>{portal}</b>')}</p>"
                         for text in texts)
    address = "<br>".join(html.escape(line) for line in letter.address_block)
    sender = html.escape(letter.sender)
    rows = (("Web address", letter.portal_url), ("User name", letter.web_id),
            ("PIN" if letter.minted else "Password", letter.secret))
    table = "".join(f"<tr><td style='padding: 6px 14px 6px 6px'>{label}</td>"
                    f"<td style='padding: 6px; font-size: 13pt'><b>{html.escape(value)}</b>"
                    "</td></tr>" for label, value in rows)
    top = " style='page-break-before: always'" if new_page else ""
    return (f"<p{top}><b>{sender or '&nbsp;'}</b></p>"
            f"<p style='margin-top: 24px'>{address}</p>"
            f"<p style='margin-top: 36px'>{day:%d %B %Y} — client ID "
            f"{html.escape(letter.client_id)}</p>"
            f"<h2>Your web portal login</h2>{paragraphs}"
            f"<table border='1' cellspacing='0' style='margin-top: 8px'>{table}</table>"
            f"<p style='margin-top: 18px'>{html.escape(CLOSING)}</p>" +
            (f"<p>{sender}</p>" if sender else ""))
