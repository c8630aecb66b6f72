"""Demo data: realistic, awkward on purpose, deterministic for a seed."""

import re
from datetime import date

import pytest
from peewee import fn

from clerkdesk.models import Household, Member, Pass, StaffUser
from clerkdesk.services import demo, staff
from clerkdesk.services.errors import ValidationError
from clerkdesk.services.jobs import Cancelled, CancelToken

TODAY = date(2026, 11, 23)


def _run(households, seed=7, actor=None, cancel=None):
    job = demo.start_demo(actor, households, seed, TODAY)
    seen = []
    result = job.run(seen.append, cancel or CancelToken())
    return result, seen


def _snapshot():
    return [
        (h.client_id, h.name, h.email, h.phone, [(m.first_name, m.relationship)
                                                 for m in h.members.order_by(Member.id)])
        for h in Household.select().order_by(Household.id)
    ]


def test_demo_on_a_fresh_database_adds_households_and_demo_sign_ins(db):
    result, progress = _run(2500)
    assert result.households == Household.select().count() == 2500
    assert result.members == Member.select().count() > 2500
    assert result.passes == Pass.select().count() > 0
    assert [s[0] for s in result.staff_created] == ["admin", "super", "clerk"]
    assert StaffUser.select().count() == 3
    assert progress[-1].done == progress[-1].total == 2500
    assert len(progress) == 2  # one report per batch of 2,000


def test_demo_is_deterministic_for_a_seed(tmp_path):
    from clerkdesk.services.database import close_database, open_database

    snapshots = []
    for run in range(2):
        open_database(f"sqlite:///{tmp_path / f'run{run}.sqlite3'}")
        _run(600, seed=42)
        snapshots.append(_snapshot())
        close_database()
    assert snapshots[0] == snapshots[1]


def test_demo_holds_the_awkward_cases_a_desk_meets(db):
    _run(3000)
    names = {m.last_name for m in Member.select()} | {m.first_name for m in Member.select()}
    assert any("'" in n for n in names)
    assert any("-" in n for n in names)
    assert any(re.search(r"[^\x00-\x7f]", n) for n in names)
    assert any(len(n) <= 2 for n in names)
    assert Household.select().where(Household.email == "").count() > 0
    invalid = [h.email for h in Household.select() if h.email and
               not re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]+", h.email)]
    assert invalid
    assert Household.select().where(Household.client_id.in_(["1", "22"])).count() == 2
    duplicates = (Household.select(Household.phone_digits, fn.COUNT(Household.id))
                  .group_by(Household.phone_digits, Household.name)
                  .having(fn.COUNT(Household.id) > 1))
    assert duplicates.count() > 0
    assert {p.status for p in Pass.select()} >= {"Actv-New", "Actv-Renew", "Suspended", "Expired"}
    # Reserved example domains only: a misconfigured demo can never mail a real person.
    assert all("example" in h.email.lower() for h in Household.select() if "@" in h.email
               and not h.email.endswith("@"))


def test_demo_cancel_keeps_whole_batches(db):
    token = CancelToken()

    def cancel_after_first(progress):
        token.cancel()

    job = demo.start_demo(None, 5000, 1, TODAY)
    with pytest.raises(Cancelled):
        job.run(cancel_after_first, token)
    assert Household.select().count() == 2000


@pytest.mark.parametrize("count", [0, -5, 10**9, "100"])
def test_demo_refuses_silly_sizes(db, count):
    with pytest.raises(ValidationError, match="between 1 and"):
        demo.start_demo(None, count)
    assert Household.select().count() == 0


def test_second_demo_run_continues_ids_on_both_databases(db):
    _run(100)
    demo_admin = staff.sign_in("admin", "admin-demo-pass")
    _run(50, seed=8, actor=demo_admin)
    assert Household.select().count() == 150
    # New rows still get ids after the generated ones (PostgreSQL's sequences moved on).
    created = Household.create(client_id="X-1", name="Walk-in")
    assert created.id == 151
