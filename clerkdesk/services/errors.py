"""Errors services raise; each message says what to fix."""

from clerkdesk.models.errors import ClerkDeskError

__all__ = [
    "ClerkDeskError",
    "ConflictError",
    "NotFound",
    "PermissionDenied",
    "SignInFailed",
    "ValidationError",
]


class ValidationError(ClerkDeskError):
    """Input that cannot be accepted; `field` names the entry to correct."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class NotFound(ClerkDeskError):
    """The record named does not exist (any more)."""


class ConflictError(ClerkDeskError):
    """Someone else changed the record first, or the change would break a rule of the site."""


class PermissionDenied(ClerkDeskError):
    """The acting staff member's role lacks the permission device this needs."""

    def __init__(self, permission: str, label: str) -> None:
        super().__init__(
            f"Your role does not allow this: it needs the permission “{label}” ({permission}). "
            "Ask an administrator to grant it to your role."
        )
        self.permission = permission


class SignInFailed(ClerkDeskError):
    """A staff sign-in was refused; `reason` is one of empty, invalid, locked, disabled."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
