"""Every permission device is enforced by the service for a role that lacks it."""

import pytest

from clerkdesk.models import AuditEvent, Role, RolePermission, Setting, StaffUser
from clerkdesk.services import demo, roles, settings, staff
from clerkdesk.services.errors import ConflictError, PermissionDenied
from clerkdesk.services.permissions import (
    DEFAULT_GRANTS,
    Permission,
    granted,
    has_permission,
    require,
)


def test_default_grants_match_the_roles(clerk, supervisor, admin):
    assert granted(clerk) == DEFAULT_GRANTS["Clerk"]
    assert granted(supervisor) == DEFAULT_GRANTS["Supervisor"]
    assert granted(admin) == frozenset(Permission)
    assert Permission.WEB_ACCOUNT_UNLOCK not in granted(clerk)
    assert Permission.SETTINGS_EDIT not in granted(supervisor)


@pytest.mark.parametrize("permission", list(Permission))
def test_require_refuses_each_device_a_role_lacks(clerk, admin, permission):
    if permission in DEFAULT_GRANTS["Clerk"]:
        roles.set_grant(admin, "Clerk", permission.value, False)
    with pytest.raises(PermissionDenied) as refused:
        require(clerk, permission)
    assert refused.value.permission == permission.value
    assert permission.value in str(refused.value)
    roles.set_grant(admin, "Clerk", permission.value, True)
    require(clerk, permission)


def test_grant_change_takes_effect_without_signing_out(clerk, admin):
    assert not has_permission(clerk, Permission.BULK_ASSIGN)
    roles.set_grant(admin, "Clerk", "bulk.assign", True)
    assert has_permission(clerk, Permission.BULK_ASSIGN)
    staff.set_staff_active(admin, "cleo", False)
    assert not has_permission(clerk, Permission.BULK_ASSIGN)


def test_services_refuse_a_clerk_and_change_nothing(clerk):
    before = (StaffUser.select().count(), Setting.select().count(), RolePermission.select().count())
    audit_before = AuditEvent.select().count()
    attempts = [
        lambda: settings.set_setting(clerk, "password_policy.max_attempts", 3),
        lambda: staff.add_staff(clerk, "mallory", "", "a-long-password", "admin"),
        lambda: staff.list_staff(clerk),
        lambda: staff.set_staff_active(clerk, "root-admin", False),
        lambda: staff.set_staff_role(clerk, "cleo", "admin"),
        lambda: staff.unlock_staff(clerk, "cleo"),
        lambda: staff.reset_staff_password(clerk, "root-admin", "a-long-password",
                                           "a-long-password"),
        lambda: roles.set_grant(clerk, "Clerk", "settings.edit", True),
        lambda: roles.create_role(clerk, "Owners"),
        lambda: roles.list_roles(clerk),
        lambda: demo.start_demo(clerk, 10),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            attempt()
    after = (StaffUser.select().count(), Setting.select().count(), RolePermission.select().count())
    assert after == before
    assert AuditEvent.select().count() == audit_before


def test_administrator_role_cannot_lose_a_device(admin):
    with pytest.raises(ConflictError, match="always holds every permission"):
        roles.set_grant(admin, "Administrator", "staff.admin", False)
    assert has_permission(admin, Permission.STAFF_ADMIN)


def test_custom_role_and_unknown_permission(admin):
    view = roles.create_role(admin, "Lifeguard", "Pool desk")
    assert view.permissions == frozenset()
    roles.set_grant(admin, "Lifeguard", "web_account.unlock", True)
    assert Permission.WEB_ACCOUNT_UNLOCK in {p for r in roles.list_roles(admin)
                                             for p in r.permissions if r.name == "Lifeguard"}
    with pytest.raises(Exception, match="no permission"):
        roles.set_grant(admin, "Lifeguard", "'; DELETE FROM role; --", True)
    assert Role.select().count() == 4
