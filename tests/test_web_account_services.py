"""Clerk-side web-account services: permissions, emails, notices, nothing readable."""

import pytest

from clerkdesk.models import AuditEvent, CaseNote, EmailTemplate, Household, WebAccount
from clerkdesk.services import portal, roles, settings, web_accounts
from clerkdesk.services.email_delivery import DeliveryError
from clerkdesk.services.errors import PermissionDenied, ValidationError
from clerkdesk.services.portal import Outcome
from tests.conftest import stored_bytes
from tests.smtp_server import body_of

TYPED = "Counter-Typed-Pass-9"


@pytest.fixture
def account(clerk, household):
    return web_accounts.create_account(clerk, household, "obrien").id


def test_account_view_never_carries_a_password_or_hash(clerk, account):
    web_accounts.set_password(clerk, account, TYPED, TYPED)
    shown = web_accounts.get_account(clerk, account)
    fields = set(shown.__dataclass_fields__)
    assert not any("hash" in f for f in fields)
    assert shown.password_set is True
    assert TYPED not in repr(shown)
    assert WebAccount.get_by_id(account).password_hash not in repr(shown)


@pytest.mark.parametrize(("call", "device"), [
    (lambda a, i: web_accounts.unlock_account(a, i), "web_account.unlock"),
    (lambda a, i: web_accounts.lock_account(a, i), "web_account.unlock"),
    (lambda a, i: web_accounts.set_account_active(a, i, False), "web_account.disable"),
    (lambda a, i: web_accounts.delete_account(a, i), "web_account.disable"),
])
def test_clerk_lacks_unlock_and_disable_supervisor_has_them(clerk, supervisor, account, call,
                                                            device):
    before = WebAccount.get_by_id(account).__data__.copy()
    with pytest.raises(PermissionDenied) as refused:
        call(clerk, account)
    assert refused.value.permission == device
    assert WebAccount.get_by_id(account).__data__ == before
    call(supervisor, account)


@pytest.mark.parametrize(("call", "device"), [
    (lambda a, i, h: web_accounts.create_account(a, h, "another"), "web_details.change"),
    (lambda a, i, h: web_accounts.set_username(a, i, "renamed"), "web_details.change"),
    (lambda a, i, h: web_accounts.set_password(a, i, TYPED, TYPED), "web_details.change"),
    (lambda a, i, h: web_accounts.issue_temporary_password(a, i), "web_details.change"),
    (lambda a, i, h: web_accounts.set_must_change(a, i, False), "web_details.change"),
    (lambda a, i, h: web_accounts.email_credentials(a, i, mint_if_empty=True),
     "web_details.email"),
])
def test_each_clerk_device_is_enforced_by_the_service(clerk, admin, account, household, call,
                                                      device):
    roles.set_grant(admin, "Clerk", device, False)
    before = (WebAccount.select().count(), WebAccount.get_by_id(account).__data__.copy(),
              AuditEvent.select().where(AuditEvent.action.startswith("web_account")).count())
    with pytest.raises(PermissionDenied) as refused:
        call(clerk, account, household)
    assert refused.value.permission == device
    after = (WebAccount.select().count(), WebAccount.get_by_id(account).__data__,
             AuditEvent.select().where(AuditEvent.action.startswith("web_account")).count())
    assert after == before


def test_set_password_with_a_mismatch_or_short_password_changes_nothing(clerk, account):
    before = WebAccount.get_by_id(account).password_hash
    with pytest.raises(ValidationError, match="do not match"):
        web_accounts.set_password(clerk, account, TYPED, TYPED + "x")
    with pytest.raises(ValidationError, match="at least 8"):
        web_accounts.set_password(clerk, account, "short", "short")
    assert WebAccount.get_by_id(account).password_hash == before


def test_temporary_password_is_returned_once_and_must_change(clerk, account):
    temporary = web_accounts.issue_temporary_password(clerk, account)
    assert len(temporary) == 11 and temporary[5] == "-"
    row = WebAccount.get_by_id(account)
    assert row.must_change and row.password_expires_at is not None
    assert portal.authenticate("obrien", temporary).outcome is Outcome.MUST_CHANGE
    notes = [n.text for n in CaseNote.select()]
    assert any("temporary password issued" in n for n in notes)
    assert not any(temporary in n for n in notes)


def test_email_credentials_sends_two_emails_and_the_password_works(clerk, account, mail):
    result = web_accounts.email_credentials(clerk, account, TYPED, TYPED)
    assert result.sent and result.address == "obrien@example.org"
    first, second = [m for _, m in mail.received]
    assert "obrien" in body_of(first) and TYPED not in body_of(first)
    assert TYPED in body_of(second) and "Siobhán" in body_of(second)
    assert first["Subject"] != second["Subject"]
    assert portal.authenticate("OBRIEN", TYPED).outcome is Outcome.MUST_CHANGE
    assert WebAccount.get_by_id(account).credentials_delivered_at is not None


def test_email_credentials_without_a_typed_password_must_be_agreed(clerk, account, mail):
    with pytest.raises(ValidationError, match="freshly minted temporary"):
        web_accounts.email_credentials(clerk, account)
    assert mail.received == []
    result = web_accounts.email_credentials(clerk, account, mint_if_empty=True)
    assert result.sent
    minted = body_of(mail.received[1][1]).split("password for our online services is:")[1]
    minted = minted.strip().split()[0]
    assert portal.authenticate("obrien", minted).outcome is Outcome.MUST_CHANGE


def test_email_credentials_with_the_server_down_changes_nothing(clerk, account, mail):
    web_accounts.set_password(clerk, account, "Old-Pass-Works-1", "Old-Pass-Works-1")
    mail.stop()
    with pytest.raises(DeliveryError, match="refused the connection"):
        web_accounts.email_credentials(clerk, account, TYPED, TYPED)
    assert portal.authenticate("obrien", "Old-Pass-Works-1").outcome is Outcome.MUST_CHANGE
    assert portal.authenticate("obrien", TYPED).outcome is Outcome.WRONG
    result = web_accounts.email_credentials(clerk, account, TYPED, TYPED,
                                            keep_change_if_unsent=True)
    assert not result.sent and "refused the connection" in result.problem
    assert portal.authenticate("obrien", TYPED).outcome is Outcome.MUST_CHANGE


def test_email_credentials_needs_an_address(clerk, account, mail):
    Household.update(email="").execute()
    with pytest.raises(ValidationError, match="no email address on file"):
        web_accounts.email_credentials(clerk, account, TYPED, TYPED)
    assert mail.received == []


def test_a_broken_template_stops_everything_before_a_change(clerk, account, mail):
    EmailTemplate.update(body="Hello <Nickname>").where(
        EmailTemplate.name == "Forgotten PIN Email 2").execute()
    before = WebAccount.get_by_id(account).password_hash
    with pytest.raises(ValidationError, match="unknown merge field <Nickname>"):
        web_accounts.email_credentials(clerk, account, TYPED, TYPED)
    assert WebAccount.get_by_id(account).password_hash == before
    assert mail.received == []


def test_missing_portal_address_is_named(clerk, admin, account, mail):
    settings.set_setting(admin, "portal.url", "")
    with pytest.raises(ValidationError, match="Set the portal address"):
        web_accounts.email_credentials(clerk, account, TYPED, TYPED)


def test_a_change_sends_a_notice_without_the_password(clerk, account, mail):
    web_accounts.set_password(clerk, account, TYPED, TYPED)
    web_accounts.set_username(clerk, account, "Siobhan.OBrien")
    notices = mail.recorder.messages_to("obrien@example.org")
    assert len(notices) == 2
    assert all(TYPED not in body_of(n) for n in notices)
    assert "Siobhan.OBrien" in body_of(notices[1])


def test_every_change_is_audited_and_noted_without_secrets(clerk, supervisor, account, mail,
                                                           db_url):
    web_accounts.set_password(clerk, account, TYPED, TYPED)
    web_accounts.lock_account(supervisor, account)
    web_accounts.unlock_account(supervisor, account)
    web_accounts.set_account_active(supervisor, account, False)
    actions = [e.action for e in AuditEvent.select().order_by(AuditEvent.id)]
    for expected in ("web_account.create", "web_account.set_password", "web_account.lock",
                     "web_account.unlock", "web_account.disable"):
        assert expected in actions
    assert CaseNote.select().count() >= 5
    raw = stored_bytes(db_url)
    assert TYPED.encode() not in raw and TYPED.lower().encode() not in raw


def test_delete_keeps_the_household(supervisor, account, household):
    web_accounts.delete_account(supervisor, account)
    assert WebAccount.select().count() == 0
    assert Household.get_by_id(household).name == "O'Brien"


def test_web_details_done_is_all_or_nothing(clerk, supervisor, account, mail):
    from clerkdesk.services.web_accounts import WebDetailsChange, update_web_details

    with pytest.raises(ValidationError, match="do not match"):
        update_web_details(clerk, account, WebDetailsChange(
            username="renamed", password=TYPED, confirm=TYPED + "!"))
    with pytest.raises(PermissionDenied, match=r"web_account\.unlock"):
        update_web_details(clerk, account, WebDetailsChange(username="renamed", locked=True))
    assert WebAccount.get_by_id(account).username == "obrien"
    shown = update_web_details(supervisor, account, WebDetailsChange(
        username="Renamed", password=TYPED, confirm=TYPED, must_change=False, locked=True,
        active=False))
    assert (shown.username, shown.must_change, shown.locked, shown.status) == \
        ("Renamed", False, True, "disabled")
    web_accounts.unlock_account(supervisor, account)
    web_accounts.set_account_active(supervisor, account, True)
    assert portal.authenticate("renamed", TYPED).outcome is Outcome.OK
