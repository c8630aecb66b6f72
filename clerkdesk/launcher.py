"""`clerkdesk` with a command runs the CLI; without one it opens the desktop program."""

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> None:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if _wants_cli(arguments):
        from clerkdesk.cli import run

        sys.exit(run(arguments))
    from clerkdesk.ui.app import run_gui

    sys.exit(run_gui(arguments))


def _wants_cli(arguments: list[str]) -> bool:
    """A command word (or a request for help) means the CLI; options alone mean the GUI."""
    from clerkdesk.cli.app import COMMANDS

    return any(word in COMMANDS or word in ("-h", "--help") for word in arguments)
