"""Bulk mailings, as the seed's Pass RecConnect describes them: targeting pass holders, merge
fields, history records and categories, the warnings before processing, rehearsals that
mint nothing, a teaser that goes before the credentials, and pause / resume / cancel."""

from datetime import date, timedelta

import pytest

from clerkdesk.models import (
    CommunicationHistory,
    Household,
    Mailing,
    MailingAttachment,
    Member,
    OutboxMessage,
    Pass,
    PassType,
    WebAccount,
)
from clerkdesk.services import mailing_history, mailings, outbox, portal
from clerkdesk.services import settings as site_settings
from clerkdesk.services.email_delivery import Attachment, mailer_from_settings
from clerkdesk.services.errors import PermissionDenied, ValidationError
from clerkdesk.services.jobs import Cancelled, CancelToken
from clerkdesk.services.mailing_drafts import MessageDraft
from clerkdesk.services.mailing_targets import Targeting, count
from clerkdesk.services.mailings import MailingDraft, QueueMailing
from clerkdesk.services.portal import Outcome
from tests.conftest import stored_bytes
from tests.smtp_server import body_of

CREDENTIALS = MessageDraft("Your portal login", "Dear <FirstName>,\nUser name: <WebID>\n"
                           "PIN: <WebPin>\nSign in at <PortalLink>\n")
TEASER = MessageDraft("Online services are coming", "Dear <FirstName>, watch your inbox.")
TODAY = date.today()


def make_household(number, *, email="", pass_code="CY-CHILD", status="Actv-New",
                   expires=TODAY + timedelta(days=90), login=True, members=("Ann",),
                   phone=""):
    home = Household.create(client_id=f"{number:05}", name=f"Family {number}",
                            email=email, phone_digits=phone)
    for index, first in enumerate(members):
        Member.create(household=home, first_name=first, last_name=f"Last{number}",
                      is_primary=index == 0, email=f"{first.lower()}{number}@example.org"
                      if len(members) > 1 else "")
    if pass_code:
        kind, _ = PassType.get_or_create(code=pass_code)
        Pass.create(household=home, pass_type=kind, status=status,
                    start_date=expires - timedelta(days=365), expiration_date=expires)
    if login:
        WebAccount.create(household=home, username=f"user{number}",
                          username_key=f"user{number}", pin_rule="digits:10")
    return home.id


def pass_holders(**changes):
    return Targeting(pass_types=("CY-CHILD",), **changes)


def draft(message=CREDENTIALS, targeting=None, **changes):
    values = {"description": "Web user and password", "category": "WEB", "rehearsal": False}
    values.update(changes)
    return MailingDraft(targeting=targeting or pass_holders(), message=message, **values)


def queue(actor, mailing_draft):
    return QueueMailing(actor, mailing_draft).run(lambda progress: None, CancelToken())


def send():
    sender = outbox.OutboxSender(mailer_from_settings(),
                                 texts=outbox.texts_from_settings(mailer_from_settings()))
    return sender.run(lambda progress: None, CancelToken())


def nothing_queued():
    return not Mailing.select().exists() and not OutboxMessage.select().exists() \
        and not CommunicationHistory.select().exists()


def test_targeting_follows_pass_type_status_dates_and_login_state(supervisor):
    wanted = make_household(1, email="a@example.org")
    make_household(2, email="b@example.org", status="Expired")
    make_household(3, email="c@example.org", pass_code="CY-MST")
    late = make_household(4, email="d@example.org", expires=TODAY + timedelta(days=800))
    no_login = make_household(5, email="e@example.org", login=False)
    year = pass_holders(date_from=TODAY, date_to=TODAY + timedelta(days=365))
    assert count(year) == 2
    assert count(pass_holders()) == 3
    assert count(pass_holders(account_state="no-account")) == 1
    assert count(pass_holders(account_state="has-account")) == 2
    assert count(pass_holders(household_ids=(wanted, no_login))) == 2
    assert count(Targeting(pass_types=("CY-CHILD", "CY-MST"))) == 4
    assert count(pass_holders(statuses=("Expired",))) == 1
    assert count(Targeting()) == 5  # no pass type: every active household
    started = pass_holders(date_option="start", date_to=TODAY)
    assert count(started) == 2  # household 4's pass starts next year
    assert count(pass_holders(household_ids=(late,))) == 1


def test_every_member_or_one_per_household(supervisor):
    make_household(1, members=("Ann", "Bob", "Cy"))
    assert count(pass_holders()) == 1
    assert count(pass_holders(every_member=True)) == 3


def test_credentials_mailing_mints_pins_that_sign_in_and_stores_none(mail, supervisor,
                                                                      db_url, caplog):
    caplog.set_level("DEBUG")
    for number in range(1, 4):
        make_household(number, email=f"h{number}@example.org")
    result = queue(supervisor, draft())
    assert (result.emails, result.skipped) == (3, {})
    assert all("<WebPin>" in m.body for m in OutboxMessage.select())
    assert send().sent == 3
    pins = []
    for number in range(1, 4):
        [message] = mail.recorder.messages_to(f"h{number}@example.org")
        body = body_of(message)
        assert "Dear Ann," in body and f"User name: user{number}" in body
        assert "https://portal.example.org" in body
        pin = body.split("PIN: ")[1].split()[0]
        assert portal.authenticate(f"user{number}", pin).outcome == Outcome.MUST_CHANGE
        pins.append(pin)
    everything = stored_bytes(db_url)
    assert not any(pin.encode() in everything for pin in pins)
    # aiosmtpd ("mail.log") is the households' mail server: it has to read the PIN.
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("mail.log")]
    assert ours and not any(pin in line for pin in pins for line in ours)
    assert CommunicationHistory.select().count() == 3
    assert all(a.credentials_delivered_at for a in WebAccount.select())


def test_a_rehearsal_sends_nothing_and_mints_nothing(mail, admin, supervisor, tmp_path):
    site_settings.set_setting(admin, "email.capture_folder", str(tmp_path / "captured"))
    make_household(1, email="h1@example.org")
    queue(supervisor, draft(rehearsal=True))
    assert send().sent == 1
    assert mail.received == []
    [captured] = (tmp_path / "captured" / "rehearsals").glob("*.eml")
    assert "rehearsal, none minted" in captured.read_text()
    account = WebAccount.get()
    assert account.password_hash is None and account.credentials_delivered_at is None


def test_a_site_in_capture_mode_refuses_a_live_mailing(admin, supervisor):
    site_settings.set_setting(admin, "email.mode", "capture")
    make_household(1, email="h1@example.org")
    with pytest.raises(ValidationError, match="rehearsal mode"):
        queue(supervisor, draft(rehearsal=False))
    assert nothing_queued()


def test_the_teaser_goes_out_before_any_credentials(mail, supervisor):
    for number in range(1, 6):
        make_household(number, email=f"h{number}@example.org")
    result = queue(supervisor, draft(teaser=TEASER))
    assert result.teaser_id is not None
    assert outbox.held_mailings() == [result.mailing_id]
    assert send().sent == 10
    subjects = [message["Subject"] for _, message in mail.received]
    assert subjects == [TEASER.subject] * 5 + [CREDENTIALS.subject] * 5


def test_pause_holds_resume_releases_cancel_withdraws(mail, supervisor):
    for number in range(1, 4):
        make_household(number, email=f"h{number}@example.org")
    mailing_id = queue(supervisor, draft()).mailing_id
    assert mailings.pause(supervisor, mailing_id).status == "Paused"
    assert send().sent == 0
    assert mailings.resume(supervisor, mailing_id).status == "Sending"
    view = mailings.cancel(supervisor, mailing_id)
    assert (view.status, view.counts) == ("Cancelled", {"cancelled": 3})
    assert send().sent == 0 and mail.received == []
    with pytest.raises(ValidationError, match="cancelled"):
        mailings.resume(supervisor, mailing_id)


def test_owners_keep_their_own_password_unless_asked(mail, supervisor):
    make_household(1, email="h1@example.org")
    WebAccount.update(password_source="owner", password_hash="kept").execute()
    ready = mailings.readiness(supervisor, draft())
    assert ready.owner_passwords == 1
    queue(supervisor, draft())
    send()
    assert "the password you chose yourself" in body_of(mail.received[0][1])
    assert WebAccount.get().password_hash == "kept"


def test_readiness_names_what_would_go_wrong(admin, supervisor):
    make_household(1, email="h1@example.org")
    make_household(2, email="not an address")
    make_household(3, email="h3@example.org", login=False)
    ready = mailings.readiness(supervisor, draft())
    assert (ready.recipients, ready.emails, ready.without_login, ready.unreachable) \
        == (3, 1, 1, 1)
    assert any("portal address is not set" in p for p in ready.problems)
    assert ready.duration_seconds is None
    site_settings.set_settings(admin, {"email.rate_per_minute": 1})
    assert mailings.readiness(supervisor, draft()).duration_seconds == pytest.approx(60)


def test_history_is_linked_and_shown_with_delivery_state(mail, supervisor):
    home = make_household(1, email="h1@example.org")
    make_household(2, email="refuse@example.org")
    mail.recorder.reject = {"refuse@example.org"}
    mailing_id = queue(supervisor, draft()).mailing_id
    send()
    [entry] = mailing_history.household_history(supervisor, home)
    assert (entry.mailing_id, entry.category, entry.rehearsal) == (mailing_id, "WEB", False)
    assert [d.state for d in entry.deliveries] == ["sent"]
    other = Household.get(Household.client_id == "00002").id
    [failed] = mailing_history.household_history(supervisor, other)[0].deliveries
    assert failed.state == "failed" and "refuse@example.org" in failed.reason


def test_earlier_mailings_of_a_category_can_be_skipped_or_included(mail, supervisor):
    first = make_household(1, email="h1@example.org")
    make_household(2, email="h2@example.org")
    queue(supervisor, draft(targeting=pass_holders(household_ids=(first,))))
    skip = pass_holders(history_categories=("WEB",), history_rule="skip")
    include = pass_holders(history_categories=("WEB",), history_rule="include")
    assert (count(skip), count(include)) == (1, 1)
    queue(supervisor, draft(targeting=pass_holders(), rehearsal=True, category="NEWS"))
    assert count(pass_holders(history_categories=("NEWS",), history_rule="include")) == 0


def test_texts_go_through_the_email_to_sms_gateway(mail, admin, supervisor):
    site_settings.set_settings(admin, {"sms.provider": "email-gateway",
                                          "sms.gateway_domain": "sms.example.net"})
    make_household(1, email="h1@example.org", phone="5550102030")
    make_household(2, email="", phone="5550102031")
    text = MessageDraft("Hi", "Hello <FirstName>, your user name is <WebID>.",
                        channels="both", skip_text_if_email=True)
    result = queue(supervisor, draft(message=text))
    assert (result.emails, result.texts) == (1, 1)
    send()
    [gateway] = mail.recorder.messages_to("15550102031@sms.example.net")
    assert "your user name is user2" in body_of(gateway)


def test_attachments_travel_with_every_message(mail, supervisor):
    make_household(1, email="h1@example.org")
    leaflet = Attachment("leaflet.pdf", b"%PDF-1.4 leaflet")
    queue(supervisor, draft(message=MessageDraft("Hi", "See the leaflet, <FirstName>.",
                                                 attachments=(leaflet,))))
    send()
    [part] = [p for p in mail.received[0][1].walk() if p.get_filename()]
    assert part.get_filename() == "leaflet.pdf"
    assert part.get_payload(decode=True) == b"%PDF-1.4 leaflet"


@pytest.mark.parametrize("bad, message", [
    (draft(description=""), "history description"),
    (draft(description="x" * 201), "history description"),
    (draft(message=MessageDraft("", "body")), "subject"),
    (draft(message=MessageDraft("s", " ")), "email body"),
    (draft(message=MessageDraft("s", "<Password> '; DROP TABLE mailing; --")),
     "Unknown merge field"),
    (draft(message=MessageDraft("PIN <WebPin>", "b")), "subject"),
    (draft(message=MessageDraft("s", "<ResetLink>")), "forgot-password"),
    (draft(message=MessageDraft("s", "b" * 100_001)), "longer than"),
    (draft(message=MessageDraft("s", "<WebPin>", channels="both",
                                skip_text_if_email=False)), "only one"),
    (draft(message=MessageDraft("s", "b", channels="text", text_body="t" * 2000)),
     "at most"),
    (draft(message=MessageDraft("s", "b", cc=("<script>@x",))), "not a valid email"),
    (draft(message=MessageDraft("s", "b", attachments=(
        Attachment("big.bin", b"0" * (10 * 2**20 + 1)),))), "MB"),
    (draft(teaser=MessageDraft("s", "<WebPin>")), "teaser"),
    (draft(category="' OR 1=1 --"), "history category"),
    (draft(targeting=Targeting(pass_types=("<b>X</b>",))), "pass type"),
    (draft(targeting=Targeting(statuses=("Actv-New'; --",), pass_types=("CY-CHILD",))),
     "status"),
    (draft(targeting=Targeting(date_from=TODAY, date_to=TODAY - timedelta(days=1))),
     "ends before"),
    (draft(targeting=Targeting(account_state="anything")), "web account state"),
], ids=lambda value: value if isinstance(value, str) else "")
def test_bad_drafts_are_refused_and_change_nothing(supervisor, bad, message):
    make_household(1, email="h1@example.org")
    with pytest.raises(ValidationError, match=message):
        queue(supervisor, bad)
    assert nothing_queued()


def test_cancelling_while_queueing_leaves_nothing(supervisor):
    for number in range(1, 4):
        make_household(number, email=f"h{number}@example.org")
    job = QueueMailing(supervisor, draft())
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        job.run(lambda progress: None, token)
    assert nothing_queued() and not MailingAttachment.select().exists()


def test_a_clerk_cannot_mail_in_bulk(clerk):
    make_household(1, email="h1@example.org")
    with pytest.raises(PermissionDenied):
        QueueMailing(clerk, draft())
    with pytest.raises(PermissionDenied):
        mailings.list_mailings(clerk)
    assert nothing_queued()


def test_categories_are_kept_and_checked(supervisor):
    assert [c.code for c in mailing_history.categories()] == ["MISC", "NEWS", "WEB"]
    mailing_history.save_category(supervisor, "parent-mtg", "Parent meetings")
    assert "PARENT-MTG" in [c.code for c in mailing_history.categories()]
    for bad in ("", "a b", "<b>", "x" * 21, "Ünï"):
        with pytest.raises(ValidationError):
            mailing_history.save_category(supervisor, bad, "d")
    mailing_history.save_category(supervisor, "NEWS", "Newsletter", active=False)
    assert "NEWS" not in [c.code for c in mailing_history.categories()]


@pytest.mark.parametrize("stop", ["pause", "cancel"])
def test_a_pause_or_cancel_holds_back_what_a_sender_already_leased(mail, supervisor,
                                                                   monkeypatch, stop):
    monkeypatch.setattr(outbox, "RECOUNT_SECONDS", 0.0)  # the sender looks before each message
    for number in range(1, 6):
        make_household(number, email=f"h{number}@example.org")
    mailing_id = queue(supervisor, draft()).mailing_id
    sender = outbox.OutboxSender(mailer_from_settings())
    send_one = sender._send

    def send_then_stop(message):
        send_one(message)
        if sender.summary.sent == 1:
            getattr(mailings, stop)(supervisor, mailing_id)

    sender._send = send_then_stop
    assert sender.run(lambda progress: None, CancelToken()).sent == 1
    left = "queued" if stop == "pause" else "cancelled"
    assert mailings.get_mailing(supervisor, mailing_id).counts == {"sent": 1, left: 4}
    assert len(mail.received) == 1
