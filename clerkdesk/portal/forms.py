"""Reading posted forms and turning the service layer's refusals into page messages."""

from dataclasses import dataclass

from flask import request

from clerkdesk.services.errors import ClerkDeskError, ValidationError


def field(name: str) -> str:
    """A posted text field; a missing one reads as empty, so every service sees a string."""
    value = request.form.get(name, "")
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class Problem:
    """A refusal shown at the top of the form; `field` marks the entry to correct."""

    message: str
    field: str = ""

    def marks(self, name: str) -> bool:
        """Whether the input called `name` is the one to correct ("user name" is username)."""
        return bool(self.field) and _key(self.field) == _key(name)


def problem_from(error: ClerkDeskError) -> Problem:
    return Problem(str(error), error.field if isinstance(error, ValidationError) else "")


def _key(name: str) -> str:
    return name.replace(" ", "").replace("_", "").lower()
