"""Permission devices: defined once here, granted to roles, checked in exactly one function."""

from enum import StrEnum

from clerkdesk.models import RolePermission, StaffUser

from .errors import PermissionDenied
from .session import StaffSession


class Permission(StrEnum):
    HOUSEHOLD_EDIT = "household.edit"
    WEB_DETAILS_CHANGE = "web_details.change"
    WEB_DETAILS_EMAIL = "web_details.email"
    WEB_ACCOUNT_UNLOCK = "web_account.unlock"
    WEB_ACCOUNT_DISABLE = "web_account.disable"
    BULK_ASSIGN = "bulk.assign"
    BULK_EMAIL = "bulk.email"
    DATA_IMPORT = "data.import"
    SETTINGS_EDIT = "settings.edit"
    STAFF_ADMIN = "staff.admin"


LABELS: dict[Permission, str] = {
    Permission.HOUSEHOLD_EDIT: "Edit households",
    Permission.WEB_DETAILS_CHANGE: "Change web user names and passwords",
    Permission.WEB_DETAILS_EMAIL: "Email web credentials to households",
    Permission.WEB_ACCOUNT_UNLOCK: "Unlock web accounts",
    Permission.WEB_ACCOUNT_DISABLE: "Disable and delete web accounts",
    Permission.BULK_ASSIGN: "Bulk assign web IDs and PINs",
    Permission.BULK_EMAIL: "Send bulk email",
    Permission.DATA_IMPORT: "Import data",
    Permission.SETTINGS_EDIT: "Edit settings",
    Permission.STAFF_ADMIN: "Manage staff, roles and permissions",
}

CLERK, SUPERVISOR, ADMINISTRATOR = "Clerk", "Supervisor", "Administrator"
_CLERK_GRANTS = {
    Permission.HOUSEHOLD_EDIT,
    Permission.WEB_DETAILS_CHANGE,
    Permission.WEB_DETAILS_EMAIL,
}
DEFAULT_GRANTS: dict[str, frozenset[Permission]] = {
    CLERK: frozenset(_CLERK_GRANTS),
    SUPERVISOR: frozenset(
        _CLERK_GRANTS
        | {
            Permission.WEB_ACCOUNT_UNLOCK,
            Permission.WEB_ACCOUNT_DISABLE,
            Permission.BULK_ASSIGN,
            Permission.BULK_EMAIL,
            Permission.DATA_IMPORT,
        }
    ),
    ADMINISTRATOR: frozenset(Permission),
}
ROLE_DESCRIPTIONS = {
    CLERK: "Front desk: finds households, changes web details, emails credentials.",
    SUPERVISOR: "Also unlocks and disables accounts, runs bulk assigns, mailings and imports.",
    ADMINISTRATOR: "Everything, including settings, staff and permissions.",
}


def label(permission: str) -> str:
    try:
        return LABELS[Permission(permission)]
    except ValueError:
        return permission


def has_permission(actor: StaffSession, permission: Permission) -> bool:
    """Read live from the database, so a role change takes effect without signing out."""
    return (
        RolePermission.select()
        .join(StaffUser, on=(StaffUser.role == RolePermission.role))
        .where(
            (StaffUser.id == actor.staff_id)
            & StaffUser.active
            & (RolePermission.permission == permission.value)
        )
        .exists()
    )


def require(actor: StaffSession | None, permission: Permission) -> None:
    """The one permission check every service makes before it touches anything."""
    if actor is None or not has_permission(actor, permission):
        raise PermissionDenied(permission.value, LABELS[permission])


def granted(actor: StaffSession) -> frozenset[Permission]:
    """Every device the actor holds now; the UI uses it to hide or disable controls."""
    rows = (
        RolePermission.select(RolePermission.permission)
        .join(StaffUser, on=(StaffUser.role == RolePermission.role))
        .where((StaffUser.id == actor.staff_id) & StaffUser.active)
    )
    known = {p.value for p in Permission}
    return frozenset(Permission(r.permission) for r in rows if r.permission in known)


def require_signed_in(actor: StaffSession | None) -> None:
    """For reading: any active staff member may look, none may without signing in."""
    if actor is None or not StaffUser.select().where(
            (StaffUser.id == actor.staff_id) & StaffUser.active).exists():
        raise PermissionDenied("signed_in", "Signed in as an active staff member")
