"""Bulk Web ID/PIN assign: scope, rules, collisions, overwrite, dry run, resume and undo."""

import os
from datetime import date, timedelta

import pytest

from clerkdesk.models import (
    AuditEvent,
    BulkAssignItem,
    BulkAssignRun,
    Household,
    Member,
    Pass,
    PassType,
    WebAccount,
    utcnow,
)
from clerkdesk.services import (
    bulk_assign,
    bulk_report,
    bulk_undo,
    household_search,
    portal,
    web_accounts,
)
from clerkdesk.services.bulk_assign import AssignOptions
from clerkdesk.services.bulk_targets import Scope
from clerkdesk.services.errors import PermissionDenied, ValidationError
from clerkdesk.services.jobs import Cancelled, CancelToken
from clerkdesk.services.portal import Outcome
from tests.conftest import stored_bytes
from tests.smtp_server import body_of


def add(client_id, last, first, email="", phone="", members=(), status="active"):
    home = Household.create(client_id=client_id, name=last, email=email, phone_digits=phone,
                            status=status)
    Member.create(household=home, first_name=first, last_name=last, is_primary=True,
                  email=email, birth_date=date(1980, 5, 17))
    for other_first in members:
        Member.create(household=home, first_name=other_first, last_name=last)
    return home.id


def run(actor, options, confirm=""):
    job = bulk_assign.start_run(actor, options, confirm)
    return job.run(lambda progress: None, CancelToken())


def usernames():
    return {a.household_id: a.username for a in WebAccount.select()}


@pytest.fixture
def town(db):
    return {
        "obrien": add("0012345", "O'Brien", "Siobhán", "siobhan@example.org", "3035550101"),
        "ng": add("7", "Ng", "J", "j.ng@example.org"),
        "noemail": add("555", "García Márquez", "José"),
        "badmail": add("556", "Smith", "Ann", "ann@"),
        "smith": add("123456", "Smith", "Anna", "anna@example.org", "2125550199"),
        "nofirst": add("889", "Lee", "", "lee@example.org"),
        "inactive": add("990", "Gone", "Gail", "gail@example.org", status="inactive"),
    }


def test_webreg_rule_assigns_and_lists_exceptions_with_reasons(supervisor, town):
    finished = run(supervisor, AssignOptions(only_with_email=True))
    assert finished.state == "finished"
    names = usernames()
    assert names[town["obrien"]] == "sobri345"
    assert names[town["ng"]] == "jng7"
    assert names[town["smith"]] == "asmit456"
    assert town["inactive"] not in names
    rows = {r.household_id: r for r in bulk_report.run_exceptions(supervisor, finished.id)}
    assert rows[town["noemail"]].reason == "no email"
    assert rows[town["noemail"]].member == "José García Márquez"  # whom the login was for
    assert rows[town["badmail"]].reason == "no email"
    assert "not a valid email" in rows[town["badmail"]].detail
    assert rows[town["nofirst"]].reason == "missing name parts"
    assert "Household Maintenance" in rows[town["nofirst"]].what_to_do
    assert (finished.assigned, finished.exceptions) == (3, 3)


def test_assigned_logins_must_change_and_are_found_by_search(supervisor, clerk, town):
    run(supervisor, AssignOptions(only_with_email=True))
    account = WebAccount.get(WebAccount.household == town["obrien"])
    assert account.must_change is True
    assert account.password_hash is None
    assert account.pin_rule == "range:12345678-87654321"
    page = household_search.search(clerk, "sobri345")
    assert [row.id for row in page.rows] == [town["obrien"]]


def test_collisions_in_one_run_and_with_existing_accounts_get_suffixes(supervisor, db):
    first = add("100", "Smith", "John", "a@example.org")
    second = add("2100", "Smith", "Jane", "b@example.org")  # also jsmit100
    taken = add("3", "Other", "Ole", "c@example.org")
    web_accounts.create_account(supervisor, taken, "JSMIT100")  # mixed case, same key
    run(supervisor, AssignOptions())
    names = usernames()
    assert names[first] == "jsmit1002"
    assert names[second] == "jsmit1003"


def test_collisions_as_exceptions_when_chosen(supervisor, db):
    first = add("100", "Smith", "John", "a@example.org")
    second = add("2100", "Smith", "Jane", "b@example.org")
    finished = run(supervisor, AssignOptions(on_collision="exception"))
    rows = bulk_report.run_exceptions(supervisor, finished.id)
    assert usernames() == {first: "jsmit100"}
    assert [(r.household_id, r.reason) for r in rows] == [(second, "collision")]
    assert "this run" in rows[0].detail


def test_every_member_gets_a_login_of_their_own(supervisor, db):
    home = add("4242", "Okafor", "Ada", "ada@example.org", members=("Bo", "Ché"))
    run(supervisor, AssignOptions(scope=Scope(every_member=True), usernames="first.last"))
    accounts = sorted((a.member_id is not None, a.username) for a in WebAccount.select()
                      .where(WebAccount.household == home))
    assert accounts == [(True, "ada.okafor"), (True, "bo.okafor"), (True, "che.okafor")]


def test_pass_holder_scope_takes_only_active_passes_of_chosen_types(supervisor, db):
    swim = PassType.create(code="SWIM", description="Swim")
    gym = PassType.create(code="GYM", description="Gym")
    holder = add("11", "Swimmer", "Sue", "s@example.org")
    lapsed = add("12", "Lapsed", "Lu", "l@example.org")
    other = add("13", "Gymmer", "Gus", "g@example.org")
    soon = date.today() + timedelta(days=30)
    Pass.create(household=holder, pass_type=swim, status="Actv-New",
                start_date=date.today(), expiration_date=soon)
    Pass.create(household=lapsed, pass_type=swim, status="Expired",
                start_date=date.today(), expiration_date=soon)
    Pass.create(household=other, pass_type=gym, status="Actv-Renew",
                start_date=date.today(), expiration_date=soon)
    run(supervisor, AssignOptions(scope=Scope("pass-holders", ("SWIM",))))
    assert set(usernames()) == {holder}


def test_existing_credentials_are_exceptions_unless_overwritten_with_yes(supervisor, db):
    home = add("31", "Kept", "Kim", "k@example.org")
    web_accounts.create_account(supervisor, home, "kim-own")
    finished = run(supervisor, AssignOptions(scope=Scope("all")))
    assert usernames() == {home: "kim-own"}
    [row] = bulk_report.run_exceptions(supervisor, finished.id)
    assert row.reason == "already has credentials"
    options = AssignOptions(scope=Scope("all"), overwrite=True)
    for confirm in ("", "yes please", "no"):
        with pytest.raises(ValidationError, match="type YES"):
            bulk_assign.start_run(supervisor, options, confirm)
    assert BulkAssignRun.select().count() == 1
    run(supervisor, options, "YES")
    assert usernames() == {home: "kkept31"}


def test_preview_writes_nothing_and_counts_live_logins(supervisor, town):
    used = town["smith"]
    account = web_accounts.create_account(supervisor, used, "anna-live")
    WebAccount.update(last_login=utcnow()).where(WebAccount.id == account.id).execute()
    before = (WebAccount.select().count(), AuditEvent.select().count())
    shown = bulk_assign.preview(supervisor, AssignOptions(scope=Scope("all"), overwrite=True,
                                                          only_with_email=True))
    assert (WebAccount.select().count(), AuditEvent.select().count()) == before
    assert BulkAssignRun.select().count() == 0
    assert shown.live_logins_overwritten == 1
    assert shown.households == 6
    assert shown.assigned == 3
    assert shown.by_reason == {"no email": 2, "missing name parts": 1}
    assert shown.pins_minted_at_delivery


def test_preview_and_run_agree(supervisor, town):
    options = AssignOptions(only_with_email=True)
    shown = bulk_assign.preview(supervisor, options)
    finished = run(supervisor, options)
    assert sorted(d.username for d in shown.sample) == sorted(usernames().values())
    assert len(shown.exceptions) == finished.exceptions


def test_pattern_pins_are_hashed_and_sign_in_works(supervisor, town):
    finished = run(supervisor, AssignOptions(pins="{phone:-4}{id:-4}", only_with_email=True))
    account = WebAccount.get(WebAccount.household == town["obrien"])
    assert account.pin_rule == "" and account.password_hash
    result = portal.authenticate("SOBRI345", "01012345")
    assert result.outcome == Outcome.MUST_CHANGE
    rows = {r.household_id: r.reason for r in bulk_report.run_exceptions(supervisor,
                                                                           finished.id)}
    assert rows[town["ng"]] == "missing name parts"  # no phone for the PIN pattern


def test_no_pin_is_readable_after_a_pattern_run(supervisor, town, db_url):
    run(supervisor, AssignOptions(pins="{birth}{id:-2}", only_with_email=True))
    pin = "1980051745"  # O'Brien's
    assert portal.authenticate("sobri345", pin).outcome == Outcome.MUST_CHANGE
    assert pin.encode() not in stored_bytes(db_url)


def test_clerk_may_not_bulk_assign(clerk, town):
    with pytest.raises(PermissionDenied, match=r"bulk\.assign"):
        bulk_assign.preview(clerk, AssignOptions())
    with pytest.raises(PermissionDenied):
        bulk_assign.start_run(clerk, AssignOptions())
    assert WebAccount.select().count() == 0


@pytest.mark.parametrize(("options", "field"), [
    (AssignOptions(usernames="{first} {last}"), "usernames"),
    (AssignOptions(usernames="'; DROP TABLE web_account; --"), "usernames"),
    (AssignOptions(pins="range:9-5"), "pins"),
    (AssignOptions(pins="digits:40"), "pins"),
    (AssignOptions(pins="<b>1234</b>"), "pins"),
    (AssignOptions(on_collision="ignore"), "collisions"),
    (AssignOptions(scope=Scope("everyone")), "scope"),
    (AssignOptions(scope=Scope("pass-holders")), "pass types"),
    (AssignOptions(scope=Scope("pass-holders", ("NOPE",))), "pass types"),
])
def test_bad_options_are_refused_before_anything_changes(supervisor, town, options, field):
    with pytest.raises(ValidationError) as refused:
        bulk_assign.start_run(supervisor, options)
    assert refused.value.field == field
    assert WebAccount.select().count() == 0 and BulkAssignRun.select().count() == 0


def test_cancelled_run_resumes_without_doing_anything_twice(supervisor, db, monkeypatch):
    homes = [add(f"{900 + i}", f"Family{i}", "Pat", f"p{i}@example.org") for i in range(7)]
    monkeypatch.setattr(bulk_assign, "BATCH", 3)
    job = bulk_assign.start_run(supervisor, AssignOptions())
    token = CancelToken()
    with pytest.raises(Cancelled):
        job.run(lambda progress: token.cancel(), token)
    stopped = BulkAssignRun.get()
    assert (stopped.state, stopped.done) == ("cancelled", 3)
    with pytest.raises(ValidationError, match="resume it or undo it"):
        bulk_assign.start_run(supervisor, AssignOptions())
    finished = bulk_assign.resume_run(supervisor, stopped.id).run(lambda p: None, CancelToken())
    assert (finished.state, finished.done, finished.assigned) == ("finished", 7, 7)
    assert sorted(usernames()) == homes
    assert BulkAssignItem.select().count() == 7


def test_undo_removes_created_restores_overwritten_and_keeps_used(supervisor, db):
    fresh = add("41", "Fresh", "Fay", "f@example.org")
    old = add("42", "Older", "Oz", "o@example.org")
    used = add("43", "Using", "Uma", "u@example.org")
    old_account = web_accounts.create_account(supervisor, old, "oz-original", "Oz-Pass-4242",
                                              "Oz-Pass-4242", must_change=False)
    old_hash = WebAccount.get_by_id(old_account.id).password_hash
    finished = run(supervisor, AssignOptions(scope=Scope("all"), overwrite=True), "YES")
    WebAccount.update(last_login=utcnow()).where(WebAccount.household == used).execute()
    result = bulk_undo.undo_run(supervisor, finished.id)
    assert (result.deleted, result.restored) == (1, 1)
    assert [(k.household_id, k.username) for k in result.kept] == [(used, "uusin43")]
    assert "signed in" in result.kept[0].why
    assert usernames() == {old: "oz-original", used: "uusin43"}
    restored = WebAccount.get_by_id(old_account.id)
    assert restored.password_hash == old_hash and restored.must_change is False
    assert fresh not in usernames()
    with pytest.raises(ValidationError, match="already been undone"):
        bulk_undo.undo_run(supervisor, finished.id)


def test_suspected_duplicate_households_are_exceptions(supervisor, db):
    first = add("51", "Duval", "Dee", "dee@example.org", "3035550111")
    twin = add("52", "DUVAL", "Dee", "DEE@example.org", "3035550999")
    by_phone = add("53", "Duval", "Dee", "other@example.org", "3035550111")
    other = add("54", "Duvall", "Dee", "dee@example.org", "3035550111")  # another name
    finished = run(supervisor, AssignOptions())
    assert set(usernames()) == {first, other}
    rows = bulk_report.run_exceptions(supervisor, finished.id)
    assert [(r.household_id, r.reason) for r in rows] == [
        (twin, "suspected duplicate household"), (by_phone, "suspected duplicate household")]
    assert all(f"household {first}" in row.detail for row in rows)


def test_rerun_for_exceptions_only_picks_up_fixed_households(supervisor, town):
    first = run(supervisor, AssignOptions(only_with_email=True))
    Household.update(email="jose@example.org").where(Household.id == town["noemail"]).execute()
    again = run(supervisor, AssignOptions(scope=Scope(retry_of=first.id), only_with_email=True))
    assert again.total == 3
    assert usernames()[town["noemail"]] == "jgarc555"
    assert again.assigned == 1 and again.exceptions == 2


def test_random_pin_is_minted_from_the_rule_when_it_is_emailed(supervisor, clerk, town, mail,
                                                               db_url):
    run(supervisor, AssignOptions(pins="range:20000000-20000999", only_with_email=True))
    account = WebAccount.get(WebAccount.household == town["obrien"])
    web_accounts.email_credentials(clerk, account.id, mint_if_empty=True)
    body = body_of(mail.received[1][1])
    pin = body.split("password for our online services is:")[1].strip().split()[0]
    assert pin.isdigit() and 20_000_000 <= int(pin) <= 20_000_999
    assert WebAccount.get_by_id(account.id).pin_rule == ""
    assert portal.authenticate("sobri345", pin).outcome == Outcome.MUST_CHANGE
    assert pin.encode() not in stored_bytes(db_url)


@pytest.mark.parametrize(("runner", "minutes_ago", "allowed"), [
    ("this-host:{parent}", 0, False),      # another live process on this machine
    ("other-desk:4242", 0, False),         # another desk, progressing
    ("other-desk:4242", 10, True),         # another desk, silent for long: abandoned
    ("this-host:{dead}", 0, True),         # its process here is gone (killed)
])
def test_a_run_another_process_is_carrying_out_is_not_resumed_twice(
        supervisor, db, monkeypatch, runner, minutes_ago, allowed):
    import socket
    import subprocess
    import sys

    from clerkdesk.services import runs_claim

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    monkeypatch.setattr(socket, "gethostname", lambda: "this-host")
    add("61", "Waiting", "Wy", "w@example.org")
    job = bulk_assign.start_run(supervisor, AssignOptions())
    BulkAssignRun.update(runner=runner.format(parent=os.getppid(), dead=dead),
                         heartbeat_at=utcnow() - timedelta(minutes=minutes_ago)).execute()
    if allowed:
        resumed = bulk_assign.resume_run(supervisor, job.run_id)
        assert BulkAssignRun.get().runner == runs_claim.this_runner()
        assert resumed.run(lambda p: None, CancelToken()).state == "finished"
    else:
        with pytest.raises(ValidationError, match="still being carried out"):
            bulk_assign.resume_run(supervisor, job.run_id)
        assert WebAccount.select().count() == 0


def test_a_name_taken_at_another_desk_mid_batch_saves_nothing_of_it(supervisor, db,
                                                                    monkeypatch):
    from clerkdesk.services import bulk_decisions

    first = add("100", "Smith", "John", "a@example.org")
    second = add("101", "Jones", "Jo", "b@example.org")
    job = bulk_assign.start_run(supervisor, AssignOptions())
    # Another desk takes "jsmit100" after this run looked: the look says it is free.
    web_accounts.create_account(supervisor, add("9", "Else", "El"), "jsmit100")
    with monkeypatch.context() as patched:
        patched.setattr(bulk_decisions.Namespace, "holder", lambda self, key, own: "")
        with pytest.raises(ValidationError, match="taken at another desk"):
            job.run(lambda p: None, CancelToken())
    assert BulkAssignItem.select().count() == 0 and BulkAssignRun.get().done == 0
    assert first not in usernames() and second not in usernames()
    bulk_assign.resume_run(supervisor, job.run_id).run(lambda p: None, CancelToken())
    assert usernames()[first] == "jsmit1002" and usernames()[second] == "jjone101"


def test_a_preview_of_pattern_pins_holds_no_pin(supervisor, town):
    shown = bulk_assign.preview(supervisor, AssignOptions(pins="{birth}{id:-2}",
                                                          only_with_email=True))
    assert shown.sample and all(decision.pin == "" for decision in shown.sample)
    assert not shown.pins_minted_at_delivery
