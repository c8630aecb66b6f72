"""Plain SQL for the few queries a website runs on every page.

peewee builds a query's SQL text anew on each call, and for a narrow lookup that costs
several times what the database itself spends (about 0.5 ms against 0.02 ms). The portal's
session check (services.portal_sessions) is written out once instead, with `{p}` where each
value goes; the values still travel as parameters, never inside the text. Everything else
stays with peewee's query builder.
"""

from collections.abc import Sequence

from clerkdesk.models import database


def rows(template: str, values: Sequence[object]) -> list[tuple]:
    """Run `template` (with `{p}` for each value) on the open database."""
    return database.execute_sql(template.format(p=database.param), values).fetchall()
