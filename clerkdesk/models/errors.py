"""Errors every layer may raise or catch; each carries a message a person can act on."""


class ClerkDeskError(Exception):
    """Base for every error ClerkDesk reports to a person instead of a traceback."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class DatabaseConfigError(ClerkDeskError):
    """The database URL or file cannot be used as given."""


class DatabaseUnavailable(ClerkDeskError):
    """The database server or file could not be opened."""


class SchemaTooNew(ClerkDeskError):
    """The database was written by a newer ClerkDesk than this one."""
