"""`clerkdesk portal serve`: the reference self-service portal over this database."""

import argparse

from limits import parse

from clerkdesk.portal.app import DEFAULT_LIMIT
from clerkdesk.portal.server import DEFAULT_THREADS, ServeOptions, serve
from clerkdesk.services import database, demo
from clerkdesk.services.jobs import CancelToken

from .terminal import ProgressBar

EPILOG = """\
The portal uses the same database as the desktop program (--database, or the local SQLite
file); --demo serves the demo database instead. Put it behind a reverse proxy that speaks
HTTPS and name the proxy with --trusted-proxy, so the portal marks its cookie Secure.
Set the portal address households are sent to in Settings → Portal (portal.url)."""


def add_portal_commands(commands) -> None:
    group = commands.add_parser("portal", help="the households' self-service web portal")
    actions = group.add_subparsers(title="portal commands", metavar="ACTION", required=True)
    sub = actions.add_parser("serve", help="serve the reference portal until Ctrl+C",
                             description="Serve the reference self-service portal.",
                             epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub.add_argument("--host", default="127.0.0.1",
                     help="address to listen on (default: %(default)s)")
    sub.add_argument("--port", type=port_number, default=8080, help="default: %(default)s")
    sub.add_argument("--threads", type=thread_count, default=DEFAULT_THREADS,
                     help="default: %(default)s")
    sub.add_argument("--limit", type=rate_limit, default=DEFAULT_LIMIT, metavar="RATE",
                     help="credential forms per client address, e.g. '10 per minute' "
                          "(default: %(default)s)")
    sub.add_argument("--trusted-proxy", metavar="ADDRESS",
                     help="the reverse proxy whose X-Forwarded-* headers are believed")
    sub.add_argument("--organisation", default="", metavar="NAME",
                     help="the name shown at the top of every page")
    sub.add_argument("--demo", action="store_true", help="serve the demo database")
    sub.set_defaults(handler=serve_command)


def serve_command(args: argparse.Namespace, actor: object) -> int:
    if args.demo:
        _open_demo(f"http://{args.host}:{args.port}")
    try:
        serve(ServeOptions(args.host, args.port, args.threads, args.limit, args.trusted_proxy,
                           args.organisation))
    except OSError as error:
        print(f"clerkdesk: cannot listen on {args.host}:{args.port}: {error.strerror}")
        return 1
    return 0


def _open_demo(portal_url: str) -> None:
    """The demo database, filled on first use as `make run` fills it, with a documented
    household sign-in and emailed links that lead to this server."""
    database.close_database()
    database.open_database(database.demo_url())
    if demo.needs_demo_data():
        job = demo.start_demo(None, demo.DEMO_HOUSEHOLDS)
        job.run(ProgressBar(job.title), CancelToken())
    username, password = demo.ensure_demo_portal_account()
    demo.point_demo_links_at(portal_url)
    print(f"Demo household sign-in: {username} / {password}")


def port_number(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"a port is a number from 1 to 65535, not “{text[:20]}”")
    return int(text)


def thread_count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError(f"threads is a number from 1 to 64, not “{text[:20]}”")
    return int(text)


def rate_limit(text: str) -> str:
    try:
        parse(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"write the limit like '10 per minute' or '100/hour', not “{text[:40]}”") from None
    return text
