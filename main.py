"""Start ClerkDesk: `python main.py` opens the desktop program, `python main.py COMMAND` the CLI."""

from clerkdesk.launcher import main

if __name__ == "__main__":
    main()
