"""User-name rules for the bulk assign: folding, short parts, patterns, problems named."""

import pytest

from clerkdesk.services.errors import ValidationError
from clerkdesk.services.username_rules import NameParts, RuleProblem, compile_rule, make_username


def parts(first="Siobhán", last="O'Brien", client_id="0012345", email="s@example.org"):
    return NameParts(first, last, client_id, email)


@pytest.mark.parametrize(("rule", "expected"), [
    ("webreg", "sobri345"),
    ("WebReg", "sobri345"),
    ("client-id", "0012345"),
    ("first.last", "siobhan.obrien"),
    ("email", "s@example.org"),
    ("{last}{id:-2}", "obrien45"),
])
def test_built_in_rules_and_patterns(rule, expected):
    assert make_username(compile_rule(rule), parts()) == expected


@pytest.mark.parametrize(("person", "expected"), [
    (parts("J", "Ng", "7"), "jng7"),                      # one-letter names, a short ID
    (parts("José", "García Márquez", "42"), "jgarc42"),   # accents and a space
    (parts("Mary-Kate", "Smith-Jones", "123456"), "msmit456"),
    (parts("Zoë", "Østergård", "99"), "zoste99"),
    (parts("ANN", "LEE", "C-100"), "alee100"),             # mixed case, punctuation in ID
])
def test_webreg_rule_with_awkward_names(person, expected):
    assert make_username(compile_rule("webreg"), person) == expected


@pytest.mark.parametrize(("person", "problem"), [
    (parts(first=""), "no first name"),
    (parts(last="  "), "no last name"),
    (parts(client_id=""), "no client ID"),
    (parts(first="''", last="--"), "no first name"),
])
def test_missing_parts_are_named(person, problem):
    with pytest.raises(RuleProblem, match=problem):
        make_username(compile_rule("webreg"), person)


def test_email_rule_needs_an_email():
    with pytest.raises(RuleProblem, match="no email"):
        make_username(compile_rule("email"), parts(email=""))


@pytest.mark.parametrize("bad", ["", "plain-text", "{first} {last}", "{first}<b>{last}",
                                 "{first}'; DROP TABLE x; --"])
def test_bad_patterns_are_refused(bad):
    with pytest.raises(ValidationError):
        compile_rule(bad)
