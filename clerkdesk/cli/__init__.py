"""The command line: a second, thin front end over the same services and permission checks."""

from .app import main, run

__all__ = ["main", "run"]
