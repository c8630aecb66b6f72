"""Portal sign-up (seed 000): a new family gets a household and a login; one already on file
is never created twice — it is told to use Forgot user name / password, or waits for a clerk,
who links, creates or refuses it, once."""

from datetime import date, timedelta

import pytest

from clerkdesk.models import (
    AuditEvent,
    CaseNote,
    Household,
    Member,
    RolePermission,
    SignUpReview,
    WebAccount,
)
from clerkdesk.services import demo, household_search, portal, web_accounts
from clerkdesk.services import sign_up as sign_ups
from clerkdesk.services.bulk_targets import suspected_duplicates
from clerkdesk.services.errors import ConflictError, PermissionDenied, ValidationError
from clerkdesk.services.jobs import CancelToken
from clerkdesk.services.portal import Outcome
from clerkdesk.services.sign_up import SignUpOutcome
from tests.conftest import staff_without, stored_bytes

PASSWORD = "Heron-Pond-Lantern-7"
BORN = date(1984, 7, 31)


def _sign_up(**changes):
    values = dict(first_name="Maeve", last_name="Ní Bhriain", email="maeve@example.org",
                  phone="(303) 555-0199", postal_code="80202", birth_date=BORN,
                  username="maeve.nb", password=PASSWORD, confirm=PASSWORD)
    values.update(changes)
    return portal.sign_up(**values)


def _counts():
    return tuple(model.select().count() for model in (Household, Member, WebAccount,
                                                       SignUpReview, CaseNote))


@pytest.fixture
def family(clerk):
    """A household on file through the household service (so its search words exist)."""
    from clerkdesk.services import households
    from clerkdesk.services.households import HouseholdData, MemberData

    return households.save_household(clerk, None, None, HouseholdData(
        client_id="5001", name="Okafor", postal_code="80203", phone="303-555-0142",
        email="Chidi.Okafor@example.org", members=(
            MemberData(first_name="Chidi", last_name="Okafor", birth_date=date(1979, 3, 2)),
            MemberData(first_name="Ada", last_name="Okafor", birth_date=date(1981, 9, 14))))).id


@pytest.fixture
def demo_twins(admin):
    """Demo households with the near-duplicates demo makes on purpose: {twin: original}."""
    demo.start_demo(admin, 800, seed=7, today=date(2026, 1, 15)).run(lambda p: None,
                                                                     CancelToken())
    twins = {twin: first for twin, first in suspected_duplicates().items()
             if Household.get_by_id(first).email.count("@") == 1
             and " " not in Household.get_by_id(first).email}
    assert twins, "the demo data should hold near-duplicate households"
    return twins


def _primary(household_id):
    return (Member.select().where(Member.household == household_id)
            .order_by(Member.is_primary.desc(), Member.id).first())


# --- created --------------------------------------------------------------------------------

def test_a_fresh_person_gets_a_household_and_a_login_that_signs_in(db, family):
    result = _sign_up()
    assert result.outcome is SignUpOutcome.CREATED
    assert result.message == sign_ups.CREATED_MESSAGE
    home = Household.get_by_id(result.household_id)
    assert (home.name, home.client_id, home.email) == ("Ní Bhriain", f"W{home.id}",
                                                        "maeve@example.org")
    member = _primary(home.id)
    assert (member.first_name, member.birth_date, member.is_primary) == ("Maeve", BORN, True)
    signed_in = portal.authenticate("MAEVE.NB", PASSWORD)
    assert signed_in.outcome is Outcome.OK and signed_in.account_id == result.account_id
    assert PASSWORD.encode() not in stored_bytes(db)
    assert CaseNote.get(CaseNote.household == home.id).category == "Web sign-up"


def test_the_new_household_is_in_the_search_index(db, clerk):
    result = _sign_up()
    for query in ("bhriain", "maeve.nb", "303-555-0199"):
        page = household_search.search(clerk, query)
        assert [row.id for row in page.rows][:1] == [result.household_id], query


def test_unicode_and_apostrophes_are_names_not_attacks(db):
    result = _sign_up(first_name="Zoë Siobhán", last_name="O'Brien-Nguyễn",
                      username="zoe.o'brien")
    assert result.outcome is SignUpOutcome.CREATED
    assert Household.get_by_id(result.household_id).name == "O'Brien-Nguyễn"
    assert portal.authenticate("Zoe.O'Brien", PASSWORD).signed_in


# --- exists / review --------------------------------------------------------------------------

def test_demo_near_duplicate_same_email_and_name_is_told_it_exists(db, demo_twins):
    twin, original = next(iter(demo_twins.items()))
    home, person = Household.get_by_id(original), _primary(original)
    before = Household.select().count()
    result = _sign_up(first_name=person.first_name, last_name=person.last_name,
                      email=home.email.upper(), phone="", postal_code="")
    assert result.outcome is SignUpOutcome.EXISTS
    assert result.message == sign_ups.EXISTS_MESSAGE and result.household_id is None
    assert Household.select().count() == before
    # Demo households have no web login yet: a clerk is asked to add one to the earlier one.
    review = SignUpReview.get()
    assert (review.state, review.candidate_id) == ("pending", min(twin, original))
    assert "email" in review.reasons and "first name" in review.reasons


def test_exists_with_a_login_already_points_to_the_forgot_flows(db, clerk, demo_twins):
    original = min(next(iter(demo_twins.items())))
    web_accounts.create_account(clerk, original, "already-here")
    home, person = Household.get_by_id(original), _primary(original)
    before = _counts()
    result = _sign_up(first_name=person.first_name.upper(), last_name=person.last_name,
                      email=home.email, username="already-here")  # a taken name: no matter
    assert result.outcome is SignUpOutcome.EXISTS
    assert _counts()[:4] == before[:4]  # no household, member, login or review
    assert "Forgot user name" in result.message
    note = CaseNote.select().where(CaseNote.household == original).order_by(
        CaseNote.id.desc()).first()
    assert "Forgot user name" in note.text


def test_demo_same_name_and_birth_date_waits_for_a_clerk(db, demo_twins):
    original = min(next(iter(demo_twins.items())))
    person = _primary(original)
    before = Household.select().count()
    result = _sign_up(first_name=person.first_name, last_name=person.last_name,
                      birth_date=person.birth_date, email="someone.else@example.net",
                      phone="", postal_code="")
    assert result.outcome is SignUpOutcome.REVIEW
    assert result.message == sign_ups.REVIEW_MESSAGE and result.household_id is None
    review = SignUpReview.get_by_id(result.review_id)
    assert review.candidate_id in demo_twins or review.candidate_id in demo_twins.values()
    assert review.reasons == "first name, last name, birth date"
    assert Household.select().count() == before


def test_demo_same_last_name_postal_code_and_phone_exists(db, demo_twins):
    original = min(next(iter(demo_twins.items())))
    home = Household.get_by_id(original)
    before = Household.select().count()
    result = _sign_up(first_name="Someone", last_name=home.name.upper(),
                      postal_code=home.postal_code, phone=home.phone,
                      email="new.address@example.net")
    assert result.outcome is SignUpOutcome.EXISTS
    assert Household.select().count() == before
    assert SignUpReview.get().reasons == "phone, last name, postal code"


def test_a_shared_email_under_another_name_waits_for_a_clerk(db, family):
    result = _sign_up(email="chidi.okafor@EXAMPLE.org")
    assert result.outcome is SignUpOutcome.REVIEW
    review = SignUpReview.get_by_id(result.review_id)
    assert (review.candidate_id, review.reasons, review.score) == (family, "email", 1)
    assert review.password_hash.startswith("bcrypt-sha256$")


def test_the_same_surname_in_the_same_postal_code_waits_for_a_clerk(db, family):
    result = _sign_up(last_name="OKAFOR", postal_code="80203", email="x@example.net", phone="")
    assert result.outcome is SignUpOutcome.REVIEW
    assert SignUpReview.get_by_id(result.review_id).reasons == "last name, postal code"


def test_signing_up_again_replaces_the_waiting_request(db, family):
    first = _sign_up(email="chidi.okafor@example.org")
    again = _sign_up(email="chidi.okafor@example.org", username="maeve.second")
    assert first.review_id == again.review_id
    assert SignUpReview.get().username == "maeve.second"


def test_matching_uses_indexed_lookups_only(db, family, monkeypatch):
    """No query reads households or members without a key: a full scan at 1,000,000
    households would take seconds."""
    from clerkdesk.models import database

    seen = []
    original = database.obj.execute_sql

    def record(sql, params=None, *args, **kwargs):
        seen.append(sql)
        return original(sql, params, *args, **kwargs)

    monkeypatch.setattr(database.obj, "execute_sql", record)
    request = sign_ups.validate_request("Ada", "Okafor", "a@example.org", "303-555-0142",
                                        "80203", date(1981, 9, 14), "ada-o")
    match = sign_ups.best_match(request)
    assert match.household_id == family and match.clear
    for sql in seen:
        if 'FROM "household"' in sql or 'FROM "member"' in sql:
            assert "WHERE" in sql, sql


# --- hostile input ----------------------------------------------------------------------------

HOSTILE = [
    ("first_name", "<script>alert(1)</script>", "first name"),
    ("last_name", "Robert'); DROP TABLE household;--", "last name"),
    ("last_name", 'Smith "Bobby"', "last name"),
    ("first_name", "A" * 10_000, "first name"),
    ("first_name", "", "first name"),
    ("first_name", "---", "first name"),
    ("last_name", "Tab\there", "last name"),
    ("email", "not-an-address", "email"),
    ("email", "<b>@example.org", "email"),
    ("email", "a" * 10_000 + "@example.org", "email"),
    ("phone", "12", "phone"),
    ("phone", "call me maybe", "phone"),
    ("phone", "5" * 10_000, "phone"),
    ("postal_code", "<b>80202</b>", "postal code"),
    ("postal_code", "8" * 10_000, "postal code"),
    ("birth_date", "31/07/1984", "birth date"),
    ("birth_date", "1984-02-30", "birth date"),
    ("birth_date", date.today() + timedelta(days=1), "birth date"),
    ("birth_date", date(1850, 1, 1), "birth date"),
    ("birth_date", None, "birth date"),
    ("birth_date", "9" * 10_000, "birth date"),
    ("username", "x'; DROP TABLE web_account;--", "user name"),
    ("username", "<img src=x>", "user name"),
    ("username", "u" * 10_000, "user name"),
    ("username", "ab", "user name"),
    ("password", "short", "password"),
    ("password", "password123", "password"),
    ("confirm", "Something-Else-42", "confirm"),
]


@pytest.mark.parametrize(("field", "value", "named"), HOSTILE,
                         ids=[f"{f}-{str(v)[:20]}" for f, v, _ in HOSTILE])
def test_hostile_input_gets_a_clear_message_and_writes_nothing(db, family, field, value,
                                                               named):
    before, audited = _counts(), AuditEvent.select().count()
    changes = {field: value, **({"confirm": value} if field == "password" else {})}
    with pytest.raises(ValidationError) as refused:
        _sign_up(**changes)
    assert refused.value.field == named
    assert len(refused.value.message) < 300  # a sentence, not the input echoed back
    assert _counts() == before and AuditEvent.select().count() == audited


@pytest.mark.parametrize("taken", ["CHIDI-O", "chidi-o", "Chidi-O"])
def test_a_user_name_taken_in_any_case_is_refused(db, clerk, family, taken):
    web_accounts.create_account(clerk, family, "Chidi-O")
    before = _counts()
    with pytest.raises(ValidationError, match="already taken"):
        _sign_up(username=taken)
    assert _counts() == before


def test_a_user_name_waiting_in_the_queue_is_taken_too(db, family):
    _sign_up(email="chidi.okafor@example.org", username="Waiting.Name")
    with pytest.raises(ValidationError, match="already taken"):
        _sign_up(email="other@example.net", first_name="Other", username="waiting.NAME")


# --- the clerk's queue ------------------------------------------------------------------------

@pytest.fixture
def waiting(db, family):
    return _sign_up(email="chidi.okafor@example.org").review_id


def test_pending_list_and_detail_show_the_request_beside_the_household(clerk, family,
                                                                       waiting):
    (row,) = sign_ups.pending_reviews(clerk)
    assert (row.id, row.person, row.candidate_id, row.candidate) == (
        waiting, "Maeve Ní Bhriain", family, "Okafor (5001)")
    assert not row.clear
    detail = sign_ups.review_detail(clerk, waiting)
    rows = {r.field: r for r in detail.rows}
    assert rows["email"].same and rows["email"].on_file == "Chidi.Okafor@example.org"
    assert not rows["last_name"].same and rows["last_name"].requested == "Ní Bhriain"
    assert dict(detail.on_file)["Web logins"] == "none yet"
    assert "Chidi Okafor (1979-03-02)" in dict(detail.on_file)["Members"]


def test_link_gives_the_household_the_chosen_login(db, clerk, family, waiting):
    outcome = sign_ups.link_to_household(clerk, waiting, family)
    assert (outcome.state, outcome.household_id, outcome.username) == ("linked", family,
                                                                       "maeve.nb")
    result = portal.authenticate("Maeve.NB", PASSWORD)
    assert result.outcome is Outcome.OK and result.account_id == outcome.account_id
    review = SignUpReview.get_by_id(waiting)
    assert (review.household_id, review.account_id, review.password_hash) == (
        family, outcome.account_id, None)
    assert review.resolved_by == "Cleo"
    assert PASSWORD.encode() not in stored_bytes(db)
    notes = [n.text for n in CaseNote.select().where(CaseNote.household == family)]
    assert any("linked by Cleo" in text for text in notes)
    assert sign_ups.pending_reviews(clerk) == []


def test_link_under_another_name_when_the_chosen_one_was_taken(clerk, family, waiting):
    other = Household.create(client_id="9", name="Else")
    web_accounts.create_account(clerk, other.id, "MAEVE.nb")
    with pytest.raises(ValidationError, match="already taken"):
        sign_ups.link_to_household(clerk, waiting, family)
    assert SignUpReview.get_by_id(waiting).state == "pending"  # nothing half-done
    outcome = sign_ups.link_to_household(clerk, waiting, family, username="maeve.okafor")
    assert portal.authenticate("maeve.okafor", PASSWORD).signed_in
    assert outcome.username == "maeve.okafor"


def test_create_new_household_from_a_request(db, clerk, family, waiting):
    outcome = sign_ups.create_new_household(clerk, waiting)
    assert outcome.household_id != family
    home = Household.get_by_id(outcome.household_id)
    assert (home.name, home.email, home.phone) == ("Ní Bhriain", "chidi.okafor@example.org",
                                                   "(303) 555-0199")
    assert portal.authenticate("maeve.nb", PASSWORD).signed_in
    assert PASSWORD.encode() not in stored_bytes(db)


def test_refuse_drops_the_hash_and_audits_the_reason(clerk, waiting):
    sign_ups.refuse(clerk, waiting, "Not a member; phoned them.")
    review = SignUpReview.get_by_id(waiting)
    assert (review.state, review.password_hash) == ("refused", None)
    event = AuditEvent.select().where(AuditEvent.action == "sign_up.refuse").get()
    assert "phoned them" in event.details
    with pytest.raises(ValidationError):
        sign_ups.refuse(clerk, waiting, "  ")


@pytest.mark.parametrize("second", ["link", "create", "refuse"])
def test_a_review_resolves_once(clerk, family, waiting, second):
    sign_ups.link_to_household(clerk, waiting, family)
    households, accounts = Household.select().count(), WebAccount.select().count()
    action = {"link": lambda: sign_ups.link_to_household(clerk, waiting, family),
              "create": lambda: sign_ups.create_new_household(clerk, waiting),
              "refuse": lambda: sign_ups.refuse(clerk, waiting, "again")}[second]
    with pytest.raises(ConflictError, match="already linked by Cleo"):
        action()
    assert (Household.select().count(), WebAccount.select().count()) == (households, accounts)


def test_the_queue_needs_household_edit(admin, family, waiting):
    greeter = staff_without(admin, "household.edit", "gus")
    for call in (lambda: sign_ups.pending_reviews(greeter),
                 lambda: sign_ups.review_detail(greeter, waiting),
                 lambda: sign_ups.link_to_household(greeter, waiting, family),
                 lambda: sign_ups.create_new_household(greeter, waiting),
                 lambda: sign_ups.refuse(greeter, waiting, "no")):
        with pytest.raises(PermissionDenied):
            call()
    assert SignUpReview.get_by_id(waiting).state == "pending"


def test_making_a_login_also_needs_web_details_change(admin, family, waiting):
    helper = staff_without(admin, "web_details.change", "hal")
    with pytest.raises(PermissionDenied):
        sign_ups.link_to_household(helper, waiting, family)
    with pytest.raises(PermissionDenied):
        sign_ups.create_new_household(helper, waiting)
    sign_ups.refuse(helper, waiting, "Duplicate request")  # household.edit is enough
    assert RolePermission.select().count() > 0


def test_every_step_is_audited_without_secrets(db, clerk, family, waiting):
    sign_ups.link_to_household(clerk, waiting, family)
    actions = [e.action for e in AuditEvent.select().order_by(AuditEvent.id)]
    assert "portal.sign_up" in actions and "sign_up.link" in actions
    for event in AuditEvent.select():
        assert PASSWORD not in event.details and "bcrypt" not in event.details
