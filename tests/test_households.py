"""Households: validation, members, optimistic locking on both databases, search in step."""

from dataclasses import replace
from datetime import date

import pytest

from clerkdesk.models import AuditEvent, Household, Member
from clerkdesk.services import household_search, households, validation, web_accounts
from clerkdesk.services.errors import NotFound, PermissionDenied, ValidationError
from clerkdesk.services.households import HouseholdData, MemberData, StaleHousehold

FAMILY = HouseholdData(
    client_id="C-100", name="Nguyễn", phone="(303) 555-0147", email="Nguyen@Example.ORG",
    members=(MemberData(first_name="Thị", last_name="Nguyễn", birth_date=date(1980, 5, 1)),
             MemberData(first_name="Bảo", last_name="Nguyễn", relationship="Child")))


def test_create_normalises_and_indexes(clerk):
    detail = households.save_household(clerk, None, None, FAMILY)
    assert detail.data.phone == "(303) 555-0147"
    assert detail.data.email == "Nguyen@example.org"
    assert detail.data.members[0].is_primary  # the first member becomes primary
    for query in ("nguyen", "NGUY", "thi", "555-0147", "3035550147", "c-100", "nguyen@ex"):
        rows = household_search.search(clerk, query).rows
        assert [r.id for r in rows] == [detail.id], query


def test_optimistic_locking_refuses_the_second_save(clerk, supervisor):
    first = households.save_household(clerk, None, None, FAMILY)
    # Two clerks opened version 1; the first saves...
    households.save_household(clerk, first.id, first.version,
                              replace(first.data, city="Denver"))
    # ...the second save is refused with who and when; nothing is overwritten.
    with pytest.raises(StaleHousehold) as stale:
        households.save_household(supervisor, first.id, first.version,
                                  replace(first.data, city="Boulder"))
    assert stale.value.changed_by == "Cleo"
    assert "Reload" in stale.value.message
    assert Household.get_by_id(first.id).city == "Denver"


def test_members_are_added_edited_removed(clerk):
    detail = households.save_household(clerk, None, None, FAMILY)
    head, child = detail.data.members
    updated = replace(detail.data, members=(
        replace(head, first_name="Thi Lan"),
        MemberData(first_name="An", last_name="Nguyễn", is_primary=False)))
    saved = households.save_household(clerk, detail.id, detail.version, updated)
    names = [m.first_name for m in saved.data.members]
    assert names == ["Thi Lan", "An"]
    assert Member.select().where(Member.first_name == child.first_name).count() == 0
    assert household_search.search(clerk, "bao").rows == []
    assert [r.id for r in household_search.search(clerk, "an nguyen").rows] == [detail.id]


@pytest.mark.parametrize(("change", "message"), [
    ({"name": ""}, "Enter the household name"),
    ({"client_id": "  "}, "Enter the client ID"),
    ({"email": "not-an-address"}, "not a valid email"),
    ({"email": "<script>@x.org"}, "not a valid email"),
    ({"phone": "12"}, "not a phone number"),
    ({"phone": "call me maybe"}, "not a phone number"),
    ({"name": "x" * 201}, "too long"),
    ({"name": "Tab\there"}, "control character"),
    ({"status": "'; DROP TABLE household; --"}, "active or inactive"),
    ({"members": (MemberData(), )}, "first or last name"),
    ({"members": (MemberData(first_name="A", is_primary=True),
                  MemberData(first_name="B", is_primary=True))}, "Only one member"),
    ({"members": (MemberData(first_name="A", birth_date=date(2999, 1, 1)),)}, "not plausible"),
])
def test_bad_household_input_changes_nothing(clerk, change, message):
    with pytest.raises(ValidationError, match=message):
        households.save_household(clerk, None, None, replace(FAMILY, **change))
    assert Household.select().count() == 0
    assert AuditEvent.select().where(AuditEvent.action == "household.create").count() == 0


def test_duplicate_client_id_is_refused(clerk):
    households.save_household(clerk, None, None, FAMILY)
    with pytest.raises(ValidationError, match="belongs to another household"):
        households.save_household(clerk, None, None, replace(FAMILY, name="Other"))


def test_saving_needs_the_household_device(clerk, admin):
    from clerkdesk.services import roles

    roles.set_grant(admin, "Clerk", "household.edit", False)
    with pytest.raises(PermissionDenied):
        households.save_household(clerk, None, None, FAMILY)
    with pytest.raises(PermissionDenied):
        households.add_case_note(clerk, 1, "x")


def test_case_notes_and_audit_for_a_household(clerk):
    detail = households.save_household(clerk, None, None, FAMILY)
    households.add_case_note(clerk, detail.id, "Called about <b>swim</b> lessons")
    notes = households.case_notes_for(clerk, detail.id)
    assert notes[0].text == "Called about <b>swim</b> lessons" and notes[0].author == "cleo"
    actions = [e.action for e in households.audit_for(clerk, detail.id)]
    assert "household.create" in actions and "case_note.add" in actions
    with pytest.raises(ValidationError):
        households.add_case_note(clerk, detail.id, "   ")
    with pytest.raises(NotFound):
        households.add_case_note(clerk, 999_999, "lost")


def test_user_names_are_searchable_and_rank_first(clerk):
    one = households.save_household(clerk, None, None, FAMILY)
    two = households.save_household(clerk, None, None, replace(
        FAMILY, client_id="C-200", name="Smithson", phone="", email="", members=()))
    web_accounts.create_account(clerk, two.id, "nguyen")
    rows = household_search.search(clerk, "nguyen").rows
    assert [r.id for r in rows][:1] == [two.id]  # the exact user-name hit first
    assert {r.id for r in rows} == {one.id, two.id}
    count = household_search.count_matches(clerk, "nguyen")
    assert (count.households, count.exact, str(count)) == (2, True, "2 households")


def test_paging_walks_every_match_once(clerk):
    for number in range(23):
        households.save_household(clerk, None, None, HouseholdData(
            client_id=f"P-{number}", name=f"Pageworth{number:02d}"))
    seen, key = [], None
    while True:
        page = household_search.search(clerk, "pagew", after=key, limit=5)
        seen += [row.id for row in page.rows]
        if page.next_key is None:
            break
        key = page.next_key
    assert len(seen) == len(set(seen)) == 23


def test_a_broad_count_stops_early_and_says_so(clerk, monkeypatch):
    for number in range(12):
        households.save_household(clerk, None, None, HouseholdData(
            client_id=f"B-{number}", name=f"Broadfield{number:02d}"))
    assert str(household_search.count_matches(clerk, "broad")) == "12 households"
    monkeypatch.setattr(household_search, "SCAN_CAP", 5)
    capped = household_search.count_matches(clerk, "broad")
    assert not capped.exact and str(capped).endswith("+ households")


@pytest.mark.parametrize("address", [
    "ann@example.org", "ANN@EXAMPLE.ORG", "a.b+c@sub.example.co.uk", "o'brien@example.ie",
    "ann@", "ann@example", "ann @example.org", "ann..b@example.org", ".ann@example.org",
    "ann.@example.org", "ann@-example.org", "ann@example-.org", "ann@example.123",
    "ann@localhost", "ann@printer.local", "ann@host.test", "ann@x.onion", "ann@in.arpa",
    "ann@b.invalid", "x" * 64 + "@example.org", "x" * 65 + "@example.org",
    "ann@" + "a" * 63 + ".org", "ann@" + "a" * 64 + ".org", "ann@" + ("a" * 60 + ".") * 5 + "org",
    "zoë@example.org", "ann@exämple.org", '"ann smith"@example.org', "ann@[127.0.0.1]",
    "<b>ann</b>@example.org", "ann@example.org\n", "'; DROP TABLE x; --@example.org", "",
    "a@b.c", "a@b.co", "ann@@example.org", "ann@example..org",
])
def test_quick_email_check_agrees_with_the_full_one(address):
    try:
        validation.normalise_email("email", address)
        full = True
    except ValidationError:
        full = False
    assert validation.is_valid_email(address) is full
