"""ClerkDesk: web-portal logins for a front desk's households."""

__version__ = "0.1.0"


def open_database(url: str | None = None):
    """Bind the models to the database at `url`, create or upgrade its schema, seed defaults.

    `url` is ``sqlite:///path`` or ``postgresql://user@host:port/db``; None means the
    ``CLERKDESK_DATABASE_URL`` environment variable, else the SQLite file in the data folder.
    """
    from clerkdesk.services.database import open_database as open_and_seed

    return open_and_seed(url)
