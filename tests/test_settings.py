"""Settings: typed, validated, audited; the password device included."""

import pytest

from clerkdesk.models import AuditEvent, PasswordPolicy, Setting
from clerkdesk.services import settings
from clerkdesk.services.errors import ValidationError


def test_defaults_follow_the_seed(db):
    assert settings.get_setting("password_policy.max_attempts") == 0
    assert settings.get_setting("password_policy.case_sensitive") is False
    assert settings.get_setting("security.bcrypt_cost") == 12
    assert settings.get_setting("portal.allow_self_change") is True


def test_set_policy_and_plain_settings(admin):
    assert settings.set_setting(admin, "password_policy.max_attempts", "3") == 3
    assert PasswordPolicy.get().max_attempts == 3
    assert settings.password_policy().max_attempts == 3
    assert settings.set_setting(admin, "portal.allow_self_change", "no") is False
    assert settings.get_setting("portal.allow_self_change") is False
    assert settings.set_setting(admin, "phone.region", "ca") == "CA"
    assert settings.set_setting(admin, "portal.url", "https://portal.example.org") \
        == "https://portal.example.org"
    event = AuditEvent.select().where(AuditEvent.action == "settings.set").first()
    assert '"old": 0' in event.details and '"new": 3' in event.details


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("password_policy.max_attempts", "-1", "from 0 to 100"),
        ("password_policy.max_attempts", "three", "whole number"),
        ("password_policy.max_attempts", "9" * 400, "whole number"),
        ("password_policy.case_sensitive", "maybe", "yes or no"),
        ("security.bcrypt_cost", "4", "from 12 to 16"),
        ("portal.url", "javascript:alert(1)", "https://"),
        ("portal.url", "<script>x</script>", "https://"),
        ("phone.region", "XX", "not a country code"),
        ("password_policy.locked_message", "   ", "cannot be empty"),
        ("password_policy.locked_message", "x" * 2001, "too long"),
        ("no.such.key", "1", "no setting"),
        ("'; DROP TABLE setting; --", "1", "no setting"),
    ],
)
def test_bad_values_are_refused_and_change_nothing(admin, key, value, message):
    before = [(spec.key, v) for spec, v in settings.all_settings()]
    with pytest.raises(ValidationError, match=message):
        settings.set_setting(admin, key, value)
    assert [(spec.key, v) for spec, v in settings.all_settings()] == before


def test_a_recent_setting_follows_changes_made_here_at_once(admin):
    assert settings.recent_setting("portal.allow_self_change") is True
    settings.set_setting(admin, "portal.allow_self_change", False)
    assert settings.recent_setting("portal.allow_self_change") is False
    # Another desk's change (straight into the table) shows within the few seconds allowed.
    Setting.update(value="true").where(Setting.key == "portal.allow_self_change").execute()
    assert settings.recent_setting("portal.allow_self_change") is False
    assert settings.recent_setting("portal.allow_self_change", max_age=0) is True
