"""bulk_insert, which imports, bulk assignment and the demo data write through: the rows land
in order with the model's defaults, a clash is peewee's IntegrityError and leaves nothing, and
on SQLite its staging table never outlives a call. On SQLite and PostgreSQL."""

import pytest
from peewee import IntegrityError, SqliteDatabase

from clerkdesk.models import Household, WebAccount, database
from clerkdesk.services.bulk import bulk_insert

FIELDS = [WebAccount.household, WebAccount.username, WebAccount.username_key]


def _staging_tables() -> list[str]:
    if not isinstance(database.obj, SqliteDatabase):
        return []
    return [name for (name,) in database.execute_sql(
        "SELECT name FROM sqlite_temp_master WHERE type = 'table'")]


def test_rows_land_in_order_with_the_models_defaults(household):
    names = ["zed", "O'Brien; DROP TABLE web_account; --", "<b>ann</b>", "Nguyễn"]
    with database.atomic():
        bulk_insert(WebAccount, FIELDS, [(household, name, name.lower()) for name in names])
    stored = list(WebAccount.select().order_by(WebAccount.id))
    assert [account.username for account in stored] == names  # ids follow the rows' order
    assert {(a.status, a.locked, a.must_change, a.failed_attempts, a.pin_rule)
            for a in stored} == {("active", False, True, 0, "")}
    assert _staging_tables() == []


def test_a_clash_is_peewees_integrity_error_and_leaves_nothing(household):
    WebAccount.create(household=household, username="taken", username_key="taken")
    with pytest.raises(IntegrityError), database.atomic():
        bulk_insert(WebAccount, FIELDS, [(household, "fresh", "fresh"),
                                         (household, "Taken", "taken")])
    assert [a.username for a in WebAccount.select()] == ["taken"]
    assert _staging_tables() == []
    with database.atomic():  # the next call starts clean
        bulk_insert(WebAccount, FIELDS, [(household, "fresh", "fresh")])
    assert WebAccount.select().count() == 2


def test_the_same_model_with_other_fields_and_no_rows(household):
    with database.atomic():
        bulk_insert(WebAccount, FIELDS, [])
        bulk_insert(WebAccount, FIELDS, [(household, "one", "one")])
        bulk_insert(WebAccount, [*FIELDS, WebAccount.email],
                    [(household, "two", "two", "two@example.org")])
        bulk_insert(Household, [Household.client_id, Household.name], [("B-2", "Second")])
    assert [(a.username, a.email) for a in WebAccount.select().order_by(WebAccount.id)] == [
        ("one", ""), ("two", "two@example.org")]
    assert Household.get(Household.client_id == "B-2").name == "Second"
    assert _staging_tables() == []
