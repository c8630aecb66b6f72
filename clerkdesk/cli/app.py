"""`clerkdesk [--database URL] [--as STAFF] COMMAND …`

Exit status: 0 done; 1 refused with a message (bad input, unreachable database, …);
2 wrong usage; 3 permission denied (the message names the permission device).
"""

import argparse
import sys
from collections.abc import Callable, Sequence

from clerkdesk.services import (
    database,
    demo,
    email_delivery,
    households,
    roles,
    settings,
    staff,
    web_accounts,
)
from clerkdesk.services.errors import ClerkDeskError, PermissionDenied
from clerkdesk.services.jobs import Cancelled, CancelToken
from clerkdesk.services.logs import configure_logging
from clerkdesk.services.session import StaffSession

from .bulk_assign import add_bulk_assign_command
from .import_users import add_import_command
from .mail import add_mail_commands
from .portal_serve import add_portal_commands
from .terminal import ProgressBar, read_new_secret, read_sign_in_password

EXIT_REFUSED, EXIT_USAGE, EXIT_PERMISSION = 1, 2, 3
COMMANDS = frozenset({"init", "db", "demo", "staff", "settings", "role", "account", "email", "mail",
                      "bulk-assign", "import", "portal"})
Handler = Callable[[argparse.Namespace, StaffSession | None], int]


def main(argv: Sequence[str] | None = None) -> None:
    sys.exit(run(sys.argv[1:] if argv is None else argv))


def run(argv: Sequence[str]) -> int:
    parser = build_parser()
    args = parse(parser, argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    configure_logging()
    try:
        database.open_database(args.database)
        actor = _sign_in(args.as_staff) if args.as_staff else None
        return args.handler(args, actor)
    except PermissionDenied as error:
        print(f"clerkdesk: permission denied: {error.permission}\n{error}", file=sys.stderr)
        return EXIT_PERMISSION
    except ClerkDeskError as error:
        print(f"clerkdesk: {error}", file=sys.stderr)
        return EXIT_REFUSED
    except KeyboardInterrupt:
        print("clerkdesk: interrupted; nothing more was changed.", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        database.close_database()


def parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    args = parser.parse_args(argv)
    if check := getattr(args, "check_usage", None):
        check(args)  # a command's rules about which options go together: exit 2, no database
    return args


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clerkdesk", description="ClerkDesk: web-portal logins for a front desk.")
    add_global_options(parser)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _init_commands(commands)
    _staff_commands(commands)
    _settings_commands(commands)
    _role_commands(commands)
    _account_commands(commands)
    _email_commands(commands)
    add_bulk_assign_command(commands)
    add_mail_commands(commands)
    add_import_command(commands)
    add_portal_commands(commands)
    return parser


def add_global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database", metavar="URL",
                        help="sqlite:///file or postgresql://user@host/db "
                             "(default: $CLERKDESK_DATABASE_URL, else the local SQLite file)")
    parser.add_argument("--as", dest="as_staff", metavar="STAFF",
                        help="sign in as this staff member (password from "
                             "$CLERKDESK_STAFF_PASSWORD or a prompt)")


def _command(group, name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
    sub = group.add_parser(name, help=help_text, description=help_text)
    sub.set_defaults(handler=handler)
    return sub


def _sign_in(username: str) -> StaffSession:
    return staff.sign_in(username, read_sign_in_password(username))


# --- init, db, demo ---------------------------------------------------------------------------

def _init_commands(commands) -> None:
    _command(commands, "init", _init, "create or upgrade the database schema")
    db = commands.add_parser("db", help="database information and credentials")
    db_commands = db.add_subparsers(title="db commands", metavar="ACTION", required=True)
    _command(db_commands, "info", _db_info, "show which database is in use and what it holds")
    _command(db_commands, "password", _db_password,
             "store the PostgreSQL password for --database in the OS keyring (read from stdin)")
    sub = _command(commands, "demo", _demo, "add generated demo households")
    sub.add_argument("--households", type=int, default=3000, metavar="N")
    sub.add_argument("--seed", type=int, default=1, metavar="S")


def _init(args, actor) -> int:
    info = database.open_database(args.database)
    print(f"Database ready: {info.kind} {info.location} (schema version {info.schema_version})")
    if staff.needs_first_administrator():
        print("No staff yet. Add the first administrator:\n"
              "  clerkdesk staff add NAME --role admin")
    return 0


def _db_info(args, actor) -> int:
    info = database.open_database(args.database)
    counts = database.counts()
    print(f"Type:            {info.kind}\nLocation:        {info.location}\n"
          f"Schema version:  {info.schema_version}\nHouseholds:      {counts.households:,}\n"
          f"Web accounts:    {counts.web_accounts:,}\nStaff:           {counts.staff:,}")
    return 0


def _db_password(args, actor) -> int:
    password, confirm = read_new_secret("Database password")
    if password != confirm:
        raise ClerkDeskError("The two passwords do not match; nothing was stored.")
    name = database.store_database_password(args.database, password)
    print(f"Stored in the OS keyring as “{name}”.")
    return 0


def _demo(args, actor) -> int:
    job = demo.start_demo(actor, args.households, args.seed)
    try:
        result = job.run(ProgressBar(job.title), CancelToken())
    except Cancelled as error:
        print(error, file=sys.stderr)
        return EXIT_REFUSED
    print(f"Added {result.households:,} households, {result.members:,} members and "
          f"{result.passes:,} passes (seed {args.seed}).")
    for username, password, role in result.staff_created:
        print(f"Demo sign-in: {username} / {password} ({role})")
    return 0


# --- staff -------------------------------------------------------------------------------------

def _staff_commands(commands) -> None:
    group = commands.add_parser("staff", help="staff accounts").add_subparsers(
        title="staff commands", metavar="ACTION", required=True)
    sub = _command(group, "add", _staff_add,
                   "add a staff member (password from stdin when it is not a terminal)")
    sub.add_argument("username")
    sub.add_argument("--role", required=True, help="admin, supervisor, clerk or a custom role")
    sub.add_argument("--display-name", default="")
    _command(group, "list", _staff_list, "list staff members")
    for name, handler in (("disable", _staff_disable), ("enable", _staff_enable),
                          ("unlock", _staff_unlock)):
        _command(group, name, handler, f"{name} a staff account").add_argument("username")


def _staff_add(args, actor) -> int:
    password, confirm = read_new_secret(f"Password for {args.username}")
    if actor is None and staff.needs_first_administrator():
        if staff.ROLE_ALIASES.get(args.role.casefold()) != staff.ADMINISTRATOR:
            raise ClerkDeskError("The first staff member must be an administrator (--role admin).")
        session = staff.create_first_administrator(args.username, args.display_name, password,
                                                   confirm)
        print(f"Added administrator {session.username}.")
        return 0
    view = staff.add_staff(actor, args.username, args.display_name, password, args.role, confirm)
    print(f"Added {view.username} ({view.role}).")
    return 0


def _staff_list(args, actor) -> int:
    rows = staff.list_staff(actor)
    print(f"{'USER NAME':<20} {'NAME':<24} {'ROLE':<14} STATE")
    for row in rows:
        state = "disabled" if not row.active else "locked" if row.locked else "active"
        print(f"{row.username:<20} {row.display_name:<24} {row.role:<14} {state}")
    return 0


def _staff_disable(args, actor) -> int:
    staff.set_staff_active(actor, args.username, False)
    print(f"Disabled {args.username}.")
    return 0


def _staff_enable(args, actor) -> int:
    staff.set_staff_active(actor, args.username, True)
    print(f"Enabled {args.username}.")
    return 0


def _staff_unlock(args, actor) -> int:
    staff.unlock_staff(actor, args.username)
    print(f"Unlocked {args.username}.")
    return 0


# --- settings and roles ------------------------------------------------------------------------

def _settings_commands(commands) -> None:
    group = commands.add_parser("settings", help="site settings").add_subparsers(
        title="settings commands", metavar="ACTION", required=True)
    _command(group, "list", _settings_list, "list every setting with its value")
    _command(group, "get", _settings_get, "show one setting").add_argument("key")
    sub = _command(group, "set", _settings_set, "change one setting")
    sub.add_argument("key")
    sub.add_argument("value")


def _settings_list(args, actor) -> int:
    for spec, value in settings.all_settings():
        print(f"{spec.key:<40} {_shown(value)}")
    return 0


def _settings_get(args, actor) -> int:
    print(_shown(settings.get_setting(args.key)))
    return 0


def _settings_set(args, actor) -> int:
    value = settings.set_setting(actor, args.key, args.value)
    print(f"{args.key} = {_shown(value)}")
    return 0


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _role_commands(commands) -> None:
    group = commands.add_parser("role", help="roles and permission devices").add_subparsers(
        title="role commands", metavar="ACTION", required=True)
    _command(group, "list", _role_list, "list roles and what each may do")
    for name, handler in (("grant", _role_grant), ("revoke", _role_revoke)):
        sub = _command(group, name, handler, f"{name} a permission device")
        sub.add_argument("role")
        sub.add_argument("permission")


def _role_list(args, actor) -> int:
    for role in roles.list_roles(actor):
        grants = ", ".join(sorted(p.value for p in role.permissions)) or "(nothing)"
        print(f"{role.name} ({role.staff_count} staff): {grants}")
    return 0


def _role_grant(args, actor) -> int:
    roles.set_grant(actor, args.role, args.permission, True)
    print(f"Granted {args.permission} to {args.role}.")
    return 0


def _role_revoke(args, actor) -> int:
    roles.set_grant(actor, args.role, args.permission, False)
    print(f"Revoked {args.permission} from {args.role}.")
    return 0


# --- web accounts and email --------------------------------------------------------------------

def _account_commands(commands) -> None:
    group = commands.add_parser("account", help="households' web accounts").add_subparsers(
        title="account commands", metavar="ACTION", required=True)
    for name, handler, text in (
            ("show", _account_show, "show a web account (never its password)"),
            ("unlock", _account_unlock, "unlock a locked web account"),
            ("lock", _account_lock, "lock a web account"),
            ("disable", _account_disable, "disable a web account"),
            ("enable", _account_enable, "enable a disabled web account")):
        _command(group, name, handler, text).add_argument("username")
    sub = _command(group, "create", _account_create,
                   "create a web account for the household with this client ID "
                   "(a password, if any, from stdin)")
    sub.add_argument("username")
    sub.add_argument("--client-id", required=True)
    sub.add_argument("--with-password", action="store_true",
                     help="read a password from stdin (must be changed at first sign-in)")
    sub = _command(group, "set-password", _account_set_password,
                   "set a new password, read from stdin, or --temporary to mint one")
    sub.add_argument("username")
    sub.add_argument("--temporary", action="store_true",
                     help="mint a temporary password and print it once")


def _account_show(args, actor) -> int:
    account = web_accounts.find_account(actor, args.username)
    must_change = "yes" if account.must_change else "no"
    print(f"User name:        {account.username}\nHousehold:        {account.household_id}\n"
          f"State:            {account.state}\nMust change:      {must_change}\n"
          f"Failed attempts:  {account.failed_attempts}\nLast sign-in:     "
          f"{account.last_login or 'never'}\nEmail:            {account.email or '(none)'}")
    return 0


def _account_create(args, actor) -> int:
    household_id = households.household_id_for_client(actor, args.client_id)
    password = confirm = None
    if args.with_password:
        password, confirm = read_new_secret(f"Password for {args.username}")
    account = web_accounts.create_account(actor, household_id, args.username, password, confirm)
    print(f"Created web account {account.username} for client {args.client_id}.")
    return 0


def _account_set_password(args, actor) -> int:
    account = web_accounts.find_account(actor, args.username)
    if args.temporary:
        temporary = web_accounts.issue_temporary_password(actor, account.id)
        print(f"Temporary password for {account.username} (shown once, must be changed at "
              f"first sign-in): {temporary}")
        return 0
    password, confirm = read_new_secret(f"New password for {account.username}")
    web_accounts.set_password(actor, account.id, password, confirm)
    print(f"Password set for {account.username}; it must be changed at first sign-in.")
    return 0


def _account_unlock(args, actor) -> int:
    account = web_accounts.find_account(actor, args.username)
    web_accounts.unlock_account(actor, account.id)
    print(f"Unlocked {account.username}.")
    return 0


def _account_lock(args, actor) -> int:
    account = web_accounts.find_account(actor, args.username)
    web_accounts.lock_account(actor, account.id)
    print(f"Locked {account.username}.")
    return 0


def _account_disable(args, actor) -> int:
    account = web_accounts.find_account(actor, args.username)
    web_accounts.set_account_active(actor, account.id, False)
    print(f"Disabled {account.username}.")
    return 0


def _account_enable(args, actor) -> int:
    account = web_accounts.find_account(actor, args.username)
    web_accounts.set_account_active(actor, account.id, True)
    print(f"Enabled {account.username}.")
    return 0


def _email_commands(commands) -> None:
    group = commands.add_parser("email", help="email settings").add_subparsers(
        title="email commands", metavar="ACTION", required=True)
    _command(group, "test", _email_test, "send the test email").add_argument("address")
    _command(group, "password", _email_password,
             "store the SMTP password in the OS keyring (read from stdin)")


def _email_test(args, actor) -> int:
    how = email_delivery.send_test_email(actor, args.address)
    print(f"Test email sent to {args.address} through {how}.")
    return 0


def _email_password(args, actor) -> int:
    password, confirm = read_new_secret("SMTP password")
    if password != confirm:
        raise ClerkDeskError("The two passwords do not match; nothing was stored.")
    name = email_delivery.store_smtp_password(actor, password)
    print(f"Stored in the OS keyring as “{name}”.")
    return 0
