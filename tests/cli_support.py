"""Running the CLI in-process with typed standard input."""

import io
import sys

from clerkdesk.cli import run

ADMIN_PASSWORD = "cli-admin-Secret-1"
CLERK_PASSWORD = "cli-clerk-Secret-2"


def cli(capsys, monkeypatch, *argv, stdin="", password=None):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    if password is None:
        monkeypatch.delenv("CLERKDESK_STAFF_PASSWORD", raising=False)
    else:
        monkeypatch.setenv("CLERKDESK_STAFF_PASSWORD", password)
    status = run(list(argv))
    out, err = capsys.readouterr()
    return status, out, err
