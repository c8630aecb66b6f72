"""Roles and the permission devices granted to them."""

from dataclasses import dataclass

from clerkdesk.models import Role, RolePermission, StaffUser

from . import audit
from .errors import ConflictError, NotFound, ValidationError
from .permissions import (
    ADMINISTRATOR,
    DEFAULT_GRANTS,
    ROLE_DESCRIPTIONS,
    Permission,
    require,
)
from .session import StaffSession
from .unit_of_work import transactional
from .validation import clean_text


@dataclass(frozen=True)
class RoleView:
    name: str
    description: str
    built_in: bool
    permissions: frozenset[Permission]
    staff_count: int

    @property
    def locked(self) -> bool:
        """The Administrator role always holds every device, so nobody can lock everyone out."""
        return self.name == ADMINISTRATOR


def ensure_built_in_roles() -> None:
    """Create the built-in roles with their default grants; later edits are kept."""
    for name, grants in DEFAULT_GRANTS.items():
        role, created = Role.get_or_create(
            name=name, defaults={"description": ROLE_DESCRIPTIONS[name], "built_in": True}
        )
        if created or name == ADMINISTRATOR:
            for permission in grants:
                RolePermission.insert(role=role, permission=permission.value).on_conflict_ignore(
                ).execute()


def list_roles(actor: StaffSession) -> list[RoleView]:
    require(actor, Permission.STAFF_ADMIN)
    return [_view(role) for role in Role.select().order_by(Role.id)]


def role_names() -> list[str]:
    return [role.name for role in Role.select(Role.name).order_by(Role.id)]


@transactional
def create_role(actor: StaffSession, name: str, description: str = "") -> RoleView:
    require(actor, Permission.STAFF_ADMIN)
    name = clean_text("role name", name, max_length=60, required=True)
    description = clean_text("description", description, max_length=200)
    if Role.select().where(Role.name == name).exists():
        raise ValidationError("role name", f"A role called “{name}” already exists.")
    role = Role.create(name=name, description=description)
    audit.record(actor, "role.create", "role", role.id, name=name)
    return _view(role)


@transactional
def set_grant(actor: StaffSession, role_name: str, permission: str, granted: bool) -> RoleView:
    """Grant or revoke one permission device for one role."""
    require(actor, Permission.STAFF_ADMIN)
    role = Role.get_or_none(Role.name == role_name)
    if role is None:
        raise NotFound(f"There is no role “{role_name}”.")
    try:
        device = Permission(permission)
    except ValueError:
        known = ", ".join(p.value for p in Permission)
        raise ValidationError("permission", f"There is no permission “{permission}”. "
                              f"Permissions: {known}.") from None
    if role.name == ADMINISTRATOR and not granted:
        raise ConflictError("The Administrator role always holds every permission.")
    if granted:
        RolePermission.insert(role=role, permission=device.value).on_conflict_ignore().execute()
    else:
        RolePermission.delete().where(
            (RolePermission.role == role) & (RolePermission.permission == device.value)
        ).execute()
    audit.record(actor, "role.grant" if granted else "role.revoke", "role", role.id,
                 role=role.name, permission=device.value)
    return _view(role)


def _view(role: Role) -> RoleView:
    known = {p.value for p in Permission}
    grants = frozenset(
        Permission(g.permission)
        for g in RolePermission.select().where(RolePermission.role == role)
        if g.permission in known
    )
    count = StaffUser.select().where(StaffUser.role == role).count()
    return RoleView(role.name, role.description, role.built_in, grants, count)
