"""The audit trail never takes a secret."""

import pytest

from clerkdesk.services import audit


@pytest.mark.parametrize("key", ["password", "new_pin", "password_hash", "reset_token", "Secret"])
def test_secret_looking_details_are_refused(db, key):
    with pytest.raises(ValueError, match="must not carry secrets"):
        audit.record("someone", "test.action", "thing", 1, **{key: "x"})
    assert audit.recent() == []


def test_recent_lists_newest_first_with_details(db):
    audit.record("ann", "first", "thing", 1, household_id=9, note="a")
    audit.record(None, "second", "thing", 2)
    events = audit.recent()
    assert [e.action for e in events] == ["second", "first"]
    assert events[0].actor == "system"
    assert audit.recent(household_id=9)[0].details == {"note": "a"}
