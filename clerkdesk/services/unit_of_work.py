"""One service call, one transaction."""

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from clerkdesk.models import database

P = ParamSpec("P")
R = TypeVar("R")


def transactional(service: Callable[P, R]) -> Callable[P, R]:
    """Run `service` in `database.atomic()`: commit on return, roll back on any exception."""

    @functools.wraps(service)
    def run_in_transaction(*args: P.args, **kwargs: P.kwargs) -> R:
        with database.atomic():
            return service(*args, **kwargs)

    return run_in_transaction
