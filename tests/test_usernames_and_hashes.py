"""User names: case-insensitive and unique at any length; secrets: any length, never plain."""

import threading

import pytest

from clerkdesk.models import WebAccount
from clerkdesk.services import passwords, portal, web_accounts
from clerkdesk.services.errors import ValidationError
from clerkdesk.services.portal import Outcome
from clerkdesk.services.usernames import username_key


def test_user_names_differing_only_in_case_are_one_name(clerk, household):
    web_accounts.create_account(clerk, household, "Smith")
    with pytest.raises(ValidationError, match="already taken"):
        web_accounts.create_account(clerk, household, "SMITH")
    with pytest.raises(ValidationError, match="already taken"):
        web_accounts.create_account(clerk, household, "  smith  ")
    assert WebAccount.select().count() == 1


def test_user_names_are_trimmed_and_normalised(clerk, household):
    decomposed = "Zoe\u0308"  # Zoë written as Z-o-e + combining diaeresis
    view = web_accounts.create_account(clerk, household, f"  {decomposed}  ")
    assert view.username == "Zoë"
    assert portal.authenticate("ZOË", "x").outcome is Outcome.WRONG  # found, just no password
    with pytest.raises(ValidationError, match="already taken"):
        web_accounts.create_account(clerk, household, "zoë")


@pytest.mark.parametrize("length", [1_000, 5_000])
def test_very_long_user_names_work(clerk, household, length):
    name = ("ŁóDź-" * length)[:length]
    view = web_accounts.create_account(clerk, household, name)
    assert web_accounts.find_account(clerk, name.upper()).id == view.id
    assert username_key(name).startswith("#sha256:")
    with pytest.raises(ValidationError, match="already taken"):
        web_accounts.create_account(clerk, household, name.lower())


@pytest.mark.parametrize(("name", "message"), [
    ("", "Enter the user name"), ("   ", "Enter the user name"),
    ("tab\there", "control character"), ("line\nbreak", "control character"),
    ("x" * 10_001, "too long")])
def test_bad_user_names_are_refused(clerk, household, name, message):
    with pytest.raises(ValidationError, match=message):
        web_accounts.create_account(clerk, household, name)
    assert WebAccount.select().count() == 0


def test_html_and_sql_in_user_names_are_just_text(clerk, household):
    for name in ("<b>bold</b>", "x'; DROP TABLE webaccount; --"):
        view = web_accounts.create_account(clerk, household, name)
        assert web_accounts.find_account(clerk, name).id == view.id
    assert WebAccount.select().count() == 2


def test_concurrent_smith_and_smith_cannot_both_succeed(clerk, household):
    """On SQLite too: a transaction takes the write lock when it begins, so the second one
    waits for the first instead of failing with "database is locked"."""
    barrier = threading.Barrier(2)
    outcomes = []

    def create(name):
        barrier.wait()
        try:
            web_accounts.create_account(clerk, household, name)
            outcomes.append("created")
        except ValidationError as error:
            outcomes.append(error.message)

    threads = [threading.Thread(target=create, args=(n,)) for n in ("Smith", "SMITH")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 2 and outcomes.count("created") == 1
    assert WebAccount.select().count() == 1


def test_ten_thousand_character_and_unicode_passwords(clerk, household):
    long_one = "Ünïcødé✓-" * 1112  # over 10,000 characters
    view = web_accounts.create_account(clerk, household, "longpw", long_one, long_one,
                                       must_change=False)
    assert portal.authenticate("longpw", long_one).outcome is Outcome.OK
    assert portal.authenticate("longpw", long_one[:-1]).outcome is Outcome.WRONG
    assert long_one.encode() not in WebAccount.get_by_id(view.id).password_hash.encode()


def test_long_passwords_sharing_72_bytes_still_differ():
    recipe = passwords.HashRecipe(4, True)
    prefix = "p" * 80
    stored = passwords.hash_secret(prefix + "-one", recipe)
    assert passwords.verify_secret(prefix + "-one", stored)
    assert not passwords.verify_secret(prefix + "-two", stored)


def test_hash_records_its_recipe():
    stored = passwords.hash_secret("Secret", passwords.HashRecipe(5, False))
    assert stored.startswith("bcrypt-sha256$ci$$2b$05$")
    assert passwords.verify_secret("SECRET", stored)
    assert not passwords.needs_rehash(stored, passwords.HashRecipe(5, False))
    assert passwords.needs_rehash(stored, passwords.HashRecipe(6, False))
    assert passwords.needs_rehash(stored, passwords.HashRecipe(5, True))
    assert not passwords.verify_secret("Secret", "plain-text-from-an-old-system")


def test_the_first_unknown_user_costs_one_hash_not_two(monkeypatch):
    calls = []
    monkeypatch.setattr(passwords, "_dummies", {})
    monkeypatch.setattr(passwords.bcrypt, "hashpw",
                        lambda *a, **k: calls.append("hash") or b"$2b$04$" + b"x" * 53)
    monkeypatch.setattr(passwords.bcrypt, "checkpw", lambda *a: calls.append("check") or False)
    passwords.burn_equivalent_time("guess", 4)
    passwords.burn_equivalent_time("guess", 4)
    assert calls == ["hash", "check"]
