"""Portal Accounts (seed 002's Manage Clients, seed 003's quick actions): the list with its
filters, search and keyset paging, and each action's permission, audit trail and effect, on
SQLite and PostgreSQL."""

import json
import re
from datetime import datetime
from urllib.parse import parse_qs, urlparse

import pytest

from clerkdesk.models import AuditEvent, CaseNote, Household, Member, WebAccount
from clerkdesk.services import portal, portal_accounts, roles, search_index, web_accounts
from clerkdesk.services.email_delivery import DeliveryError
from clerkdesk.services.errors import NotFound, PermissionDenied, ValidationError
from clerkdesk.services.portal import Outcome
from clerkdesk.services.portal_accounts import AccountFilter
from tests.conftest import stored_bytes
from tests.smtp_server import body_of

PEOPLE = (("O'Brien", "Siobhán", "siobhan@example.org"), ("Smith", "Ann", "ann@example.org"),
          ("Smithers", "Bob", "bob.smithers@example.org"), ("Nguyễn", "Thảo", "thao@example.org"),
          ("García Márquez", "José", "jose@example.org"), ("Ng", "Li", "li.ng@example.org"))


def _household(client_id: str, name: str, first: str, email: str, extra: str = "") -> int:
    home = Household.create(client_id=client_id, name=name, email=email)
    Member.create(household=home, first_name=first, last_name=name, is_primary=True)
    if extra:
        Member.create(household=home, first_name=extra, last_name=name)
    search_index.reindex(home.id)
    return home.id


@pytest.fixture
def accounts(clerk):
    """Six named households with a login each, and 30 numbered ones: {user name: id}."""
    made = {}
    for number, (name, first, email) in enumerate(PEOPLE):
        home = _household(f"C{number}", name, first, email, extra="Smithy" if number == 1
                          else "")
        user = re.sub(r"[^a-z]", "", first.lower()[:1] + name.lower().split()[0])
        made[user] = web_accounts.create_account(clerk, home, user).id
    for number in range(30):
        home = _household(f"N{number:02d}", f"Family{number:02d}", "Pat",
                          f"f{number}@example.org")
        made[f"fam{number:02d}"] = web_accounts.create_account(clerk, home,
                                                               f"fam{number:02d}").id
    return made


def _all(actor, state="all", text="", size=500):
    """Every row, walking the pages by key."""
    rows, key = [], None
    while True:
        page = portal_accounts.account_page(actor, AccountFilter(state, text), key, size)
        rows += page.rows
        if page.next_key is None:
            return rows
        key = page.next_key


def _names(rows):
    return [row.username for row in rows]


def test_the_list_shows_each_account_with_its_household_member_and_address(clerk, accounts):
    rows = _all(clerk)
    assert _names(rows) == sorted(accounts)  # user-name order
    row = next(r for r in rows if r.username == "sobrien")
    assert (row.client_id, row.household_name, row.member, row.email) == (
        "C0", "O'Brien", "O'Brien, Siobhán", "siobhan@example.org")
    assert (row.status, row.locked, row.must_change, row.state) == ("active", False, True,
                                                                     "Active")
    assert row.credentials_delivered_at is None and row.last_login is None


def test_each_filter_lists_exactly_its_accounts(clerk, accounts):
    now = datetime(2026, 11, 1, 9, 30)
    WebAccount.update(status="disabled").where(WebAccount.id == accounts["asmith"]).execute()
    WebAccount.update(locked=True).where(WebAccount.id == accounts["bsmithers"]).execute()
    WebAccount.update(must_change=False).where(WebAccount.id != accounts["tnguyn"]).execute()
    WebAccount.update(credentials_delivered_at=now, last_login=now).where(
        WebAccount.id != accounts["jgarca"]).execute()
    WebAccount.update(last_login=None).where(WebAccount.id == accounts["lng"]).execute()
    everyone = set(accounts)
    expected = {"all": everyone, "active": everyone - {"asmith"}, "disabled": {"asmith"},
                "locked": {"bsmithers"}, "must-change": {"tnguyn"},
                "not-delivered": {"jgarca"}, "never-signed-in": {"jgarca", "lng"}}
    for state, names in expected.items():
        assert set(_names(_all(clerk, state))) == names, state
    assert _all(clerk, "locked")[0].state == "Locked"
    assert next(r for r in _all(clerk) if r.username == "asmith").state == "Deactivated"


def test_an_unknown_filter_is_refused(clerk, accounts):
    with pytest.raises(ValidationError) as refused:
        portal_accounts.account_page(clerk, AccountFilter("deleted"))
    assert "not a filter" in refused.value.message


@pytest.mark.parametrize(("text", "expected"), [
    ("smi", {"asmith", "bsmithers"}),  # household names, and Smithy the member, found once
    ("SMITHERS", {"bsmithers"}),
    ("siob", {"sobrien"}),  # member first name, accent folded
    ("o'brien", {"sobrien"}),
    ("nguy", {"tnguyn"}),  # "Nguyễn" typed plainly
    ("Nguyễn", {"tnguyn"}),
    ("garcía márq", {"jgarca"}),  # two words, both must match
    ("bob.smithers@", {"bsmithers"}),  # email prefix
    ("li.ng@example.org", {"lng"}),
    ("tnguy", {"tnguyn"}),  # user name prefix
    ("fam1", {f"fam1{n}" for n in range(10)}),
    ("zzz", set()),
])
def test_search_by_household_member_email_or_user_name(clerk, accounts, text, expected):
    assert set(_names(_all(clerk, text=text, size=3))) == expected


@pytest.mark.parametrize("text", [
    "'; DROP TABLE web_account; --", "\" OR 1=1 --", "smith' OR '1'='1", "<b>Smith</b>",
    "<script>alert(1)</script>", "%", "_", "\\", "a" * 10_000, "Ünïcødé 名前 🙂", "\x00nul",
    "   ", "((", "fam*",
])
def test_hostile_search_text_is_only_text(clerk, accounts, text):
    rows = _all(clerk, text=text)
    assert all(row.id in accounts.values() for row in rows)
    assert WebAccount.select().count() == len(accounts)
    assert portal_accounts.count_accounts(clerk, AccountFilter("all", text)).accounts == \
        len(rows)


def test_html_in_a_household_name_is_found_and_returned_as_it_is(clerk, accounts):
    home = _household("H1", "<b>Bold</b> & Co", "Max", "max@example.org")
    web_accounts.create_account(clerk, home, "maxbold")
    [row] = _all(clerk, text="bold")
    assert row.household_name == "<b>Bold</b> & Co"


@pytest.mark.parametrize(("state", "text"), [
    ("all", ""), ("active", ""), ("must-change", ""), ("all", "fam"), ("all", "pat"),
    ("active", "f1"), ("never-signed-in", "fam"), ("locked", "fam"),
])
@pytest.mark.parametrize("stages", [(1_000, 20_000), (2, 4)])  # "range" and "index" walks
def test_keyset_pages_have_no_duplicates_and_no_gaps(clerk, accounts, state, text, stages,
                                                     monkeypatch):
    monkeypatch.setattr(portal_accounts, "BREADTH_STAGES", stages)
    # Every third household gets a second login (one per member), so pages end inside one.
    for number in range(0, 30, 3):
        home = WebAccount.get_by_id(accounts[f"fam{number:02d}"]).household_id
        member = Member.create(household=home, first_name="Kim", last_name="Second")
        web_accounts.create_account(clerk, home, f"kim{number:02d}", member_id=member.id)
    WebAccount.update(locked=True).where(WebAccount.username.in_(
        ["fam03", "kim03", "fam17", "fam29"])).execute()
    whole = _names(_all(clerk, state, text, size=500))
    for size in (1, 4, 7):
        paged = _names(_all(clerk, state, text, size=size))
        assert paged == whole, size
    assert len(whole) == len(set(whole)) and whole
    assert portal_accounts.count_accounts(clerk, AccountFilter(state, text)).accounts == \
        len(whole)


@pytest.mark.parametrize(("state", "text", "stages"), [
    ("locked", "fam", (1_000, 20_000)),  # the filter's accounts, a window at a time
    ("never-signed-in", "pat f", (2, 4)),  # the driver word's index rows, a window at a time
    ("locked", "pat", (1_000, 20_000)),  # a rare word's households, a chunk at a time
])
def test_pages_cut_short_by_the_scan_cap_lead_on_without_gaps(clerk, accounts, state, text,
                                                              stages, monkeypatch):
    WebAccount.update(locked=True).where(WebAccount.username.in_(
        ["fam03", "fam17", "fam29"])).execute()
    WebAccount.update(last_login=datetime(2026, 11, 1)).where(WebAccount.username.in_(
        ["fam01", "fam02", "fam05", "fam11"])).execute()
    monkeypatch.setattr(portal_accounts, "BREADTH_STAGES", stages)
    whole = _names(_all(clerk, state, text, size=500))
    monkeypatch.setattr(portal_accounts, "SCAN_CAP", 3)
    pages, key, short = [], None, 0
    while True:
        page = portal_accounts.account_page(clerk, AccountFilter(state, text), key, 4)
        pages += page.rows
        short += len(page.rows) < 4 and page.next_key is not None
        if page.next_key is None:
            break
        key = page.next_key
    assert _names(pages) == whole and whole
    assert short  # the cap did cut pages short, and the keys led on


def test_the_walk_chosen_for_the_first_page_is_kept_by_its_key(clerk, accounts, monkeypatch):
    """A rare filter under a broad search walks the filter; its key says so."""
    WebAccount.update(locked=True).where(WebAccount.username == "fam07").execute()
    page = portal_accounts.account_page(clerk, AccountFilter("locked", "fam"), size=1)
    assert _names(page.rows) == ["fam07"] and page.next_key[0] == "user"
    page = portal_accounts.account_page(clerk, AccountFilter("all", "fam"), size=1)
    assert page.next_key[0] == "range"  # a rare word: its index range is read whole
    monkeypatch.setattr(portal_accounts, "BREADTH_STAGES", (2, 4))
    page = portal_accounts.account_page(clerk, AccountFilter("all", "fam"), size=1)
    assert page.next_key[0] == "index"  # a common one: a batch at a time


def test_an_accounts_own_email_finds_it_and_a_changed_one_no_longer_does(clerk, accounts,
                                                                        supervisor):
    portal_accounts.change_email(supervisor, accounts["fam07"], "Kim.Lee@Elsewhere.example")
    for text in ("kim.lee@elsewhere", "kimlee", "kim.lee"):
        assert _names(_all(clerk, text=text)) == ["fam07"], text
    portal_accounts.change_email(supervisor, accounts["fam07"], "new.one@example.net")
    assert _all(clerk, text="kimlee") == []
    assert _names(_all(clerk, text="new.one")) == ["fam07"]
    portal_accounts.change_email(supervisor, accounts["fam07"], "")  # back to the household's
    assert _all(clerk, text="new.one") == []
    assert _names(_all(clerk, text="f7@example.org")) == ["fam07"]


def test_two_common_words_are_walked_from_the_rarer_one(clerk, accounts, monkeypatch):
    """Past the short count both words look alike; the long count tells them apart, so the
    walk reads the 30 "pat" rows rather than the 60 "fam" ones (names and user names)."""
    monkeypatch.setattr(portal_accounts, "BREADTH_STAGES", (2, 1_000))
    page = portal_accounts.account_page(clerk, AccountFilter("all", "fam pat"), size=5)
    assert page.next_key[1] == "pat" and len(page.rows) == 5
    monkeypatch.setattr(portal_accounts, "BREADTH_STAGES", (2, 4))  # both reach every cap
    page = portal_accounts.account_page(clerk, AccountFilter("all", "fam pat"), size=5)
    assert page.next_key[1] == "fam"  # a tie: the word counted first (the longer) leads


@pytest.mark.parametrize("key", [("user",), ("range", "zzz", "", 0, 0), ("index", "fam", 1, 2, 3),
                                 "fam", ["user", ""], ("drop table",)])
def test_a_key_from_another_list_is_refused(clerk, accounts, key):
    with pytest.raises(ValidationError):
        portal_accounts.account_page(clerk, AccountFilter("all", "fam"), key)


def test_count_is_capped_and_says_so(clerk, accounts, monkeypatch):
    count = portal_accounts.count_accounts(clerk, AccountFilter("all", "fam"))
    assert (count.accounts, count.exact, str(count)) == (30, True, "30 accounts")
    monkeypatch.setattr(portal_accounts, "COUNT_CAP", 10)
    count = portal_accounts.count_accounts(clerk, AccountFilter())
    assert (count.accounts, count.exact, str(count)) == (10, False, "10+ accounts")


def test_reading_needs_a_signed_in_staff_member(clerk, accounts):
    with pytest.raises(PermissionDenied):
        portal_accounts.account_page(None, AccountFilter())


# --- actions --------------------------------------------------------------------------------

def _audited(action: str) -> list[dict]:
    return [json.loads(e.details) for e in AuditEvent.select().where(AuditEvent.action == action)]


def _notes(account_id: int) -> list[str]:
    home = WebAccount.get_by_id(account_id).household_id
    return [n.text for n in CaseNote.select().where(CaseNote.household == home)]


def test_change_email_validates_audits_and_notes(clerk, accounts):
    account = accounts["asmith"]
    row = portal_accounts.change_email(clerk, account, "  Ann.New@Example.ORG ")
    assert row.email == "Ann.New@example.org" == WebAccount.get_by_id(account).email
    assert _audited("web_account.set_email") == [{"old": "", "new": "Ann.New@example.org"}]
    assert any("Ann.New@example.org" in note for note in _notes(account))
    for bad in ("not-an-email", "a@b", "x" * 400 + "@example.org", "ann@exa mple.org",
                "<script>@example.org"):
        with pytest.raises(ValidationError):
            portal_accounts.change_email(clerk, account, bad)
    assert WebAccount.get_by_id(account).email == "Ann.New@example.org"
    row = portal_accounts.change_email(clerk, account, "")  # back to the household's
    assert row.email == "ann@example.org"
    assert len(_audited("web_account.set_email")) == 2
    with pytest.raises(NotFound):
        portal_accounts.change_email(clerk, 999_999, "a@example.org")


def test_activate_and_deactivate_need_the_disable_device(clerk, supervisor, accounts):
    account = accounts["asmith"]
    with pytest.raises(PermissionDenied) as refused:
        portal_accounts.set_active(clerk, account, False)
    assert refused.value.permission == "web_account.disable"
    assert WebAccount.get_by_id(account).status == "active"
    assert portal_accounts.set_active(supervisor, account, False).state == "Deactivated"
    assert portal_accounts.set_active(supervisor, account, True).state == "Active"
    assert [e.action for e in AuditEvent.select().where(
        AuditEvent.action.in_(["web_account.disable", "web_account.enable"]))
        .order_by(AuditEvent.id)] == ["web_account.disable", "web_account.enable"]


@pytest.mark.parametrize(("call", "device"), [
    (lambda a, i: portal_accounts.change_email(a, i, "new@example.org"), "web_details.change"),
    (lambda a, i: portal_accounts.create_client_password(a, i), "web_details.change"),
    (lambda a, i: portal_accounts.send_reset_email(a, i), "web_details.email"),
])
def test_each_clerk_action_is_behind_its_device(clerk, admin, accounts, call, device):
    account = accounts["sobrien"]
    roles.set_grant(admin, "Clerk", device, False)
    before = WebAccount.get_by_id(account).__data__.copy()
    audits = AuditEvent.select().count()
    with pytest.raises(PermissionDenied) as refused:
        call(clerk, account)
    assert refused.value.permission == device
    assert WebAccount.get_by_id(account).__data__ == before
    assert AuditEvent.select().count() == audits


def test_create_client_password_signs_in_once_and_is_never_stored(clerk, accounts, db_url):
    account = accounts["sobrien"]
    password = portal_accounts.create_client_password(clerk, account)
    assert len(password) >= 8
    stored = WebAccount.get_by_id(account)
    assert stored.must_change and stored.password_hash and password not in stored.password_hash
    assert portal.authenticate("SOBRIEN", password).outcome is Outcome.MUST_CHANGE
    assert password.encode() not in stored_bytes(db_url)
    assert any(e.action == "web_account.set_password" for e in AuditEvent.select())
    assert all(password not in e.details for e in AuditEvent.select())


def test_create_client_password_then_email_it(clerk, accounts, mail):
    account = accounts["asmith"]
    password = portal_accounts.create_client_password(clerk, account)
    result = portal_accounts.email_client_password(clerk, account, password)
    assert result.sent and result.address == "ann@example.org"
    bodies = [body_of(m) for m in mail.recorder.messages_to("ann@example.org")]
    assert any(password in body for body in bodies)
    assert portal.authenticate("asmith", password).outcome is Outcome.MUST_CHANGE
    assert WebAccount.get_by_id(account).credentials_delivered_at is not None


def test_reset_email_arrives_and_its_link_works(clerk, accounts, mail, db_url):
    account = accounts["bsmithers"]
    assert portal_accounts.send_reset_email(clerk, account) == "bob.smithers@example.org"
    [message] = mail.recorder.messages_to("bob.smithers@example.org")
    link = re.search(r"https://portal\.example\.org/reset\?\S+", body_of(message)).group(0)
    token = parse_qs(urlparse(link).query)["token"][0]
    assert token.encode() not in stored_bytes(db_url)  # only its digest is kept
    result = portal.reset_password(token, "Brand-New-Pass-77")
    assert result.signed_in
    assert portal.authenticate("bsmithers", "Brand-New-Pass-77").outcome is Outcome.OK
    assert _audited("web_account.send_reset") == [{"address": "bob.smithers@example.org"}]
    assert any("reset link was emailed" in note for note in _notes(account))


def test_reset_email_refusals_change_nothing(clerk, supervisor, accounts, mail):
    account = accounts["bsmithers"]
    portal_accounts.set_active(supervisor, account, False)
    with pytest.raises(ValidationError) as refused:
        portal_accounts.send_reset_email(clerk, account)
    assert "deactivated" in refused.value.message
    portal_accounts.set_active(supervisor, account, True)
    mail.stop()
    with pytest.raises(DeliveryError):
        portal_accounts.send_reset_email(clerk, account)
    assert _audited("web_account.send_reset") == []
    assert not any("reset link" in note for note in _notes(account))


def test_delete_portal_account_keeps_the_household(clerk, supervisor, accounts):
    account = accounts["lng"]
    home = WebAccount.get_by_id(account).household_id
    with pytest.raises(PermissionDenied):
        portal_accounts.delete_portal_account(clerk, account)
    assert portal_accounts.delete_portal_account(supervisor, account) == "Ng"
    assert WebAccount.get_or_none(WebAccount.id == account) is None
    assert Household.get_by_id(home).name == "Ng"
    assert portal_accounts.row_for(clerk, account) is None
    assert "lng" not in _names(_all(clerk))
    assert any(e.action == "web_account.delete" for e in AuditEvent.select())
    assert portal_accounts.household_for_client(clerk, "C5") == (home, "Ng")
    with pytest.raises(NotFound):
        portal_accounts.household_for_client(clerk, "no-such-client")
