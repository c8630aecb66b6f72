"""`clerkdesk --as STAFF mail send|status`: drain the outbox from a terminal, or see its state.

`mail send` runs the sender until the queue is empty (messages waiting for a retry later stay
queued); Ctrl-C stops it after the message in flight, and the rest stays queued for next time.
"""

import argparse
import sys

from clerkdesk.services import outbox
from clerkdesk.services.jobs import CancelToken
from clerkdesk.services.session import StaffSession

from .terminal import ProgressBar, interrupt_cancels


def add_mail_commands(commands) -> None:
    group = commands.add_parser("mail", help="the outbox: send queued messages, show its state")
    actions = group.add_subparsers(title="mail commands", metavar="ACTION", required=True)
    send = actions.add_parser("send", help="send what is queued, within the rate limit",
                              description="Send the queued messages over one connection to "
                                          "the mail server (or into the capture folder).")
    send.set_defaults(handler=mail_send)
    status = actions.add_parser("status", help="how many messages are queued, sent or failed")
    status.set_defaults(handler=mail_status)


def mail_send(args: argparse.Namespace, actor: StaffSession | None) -> int:
    sender = outbox.start_sender(actor)
    token = CancelToken()
    with interrupt_cancels(token, "the message in flight"):
        summary = sender.run(ProgressBar(sender.title), token)
    print(f"{summary.sent:,} sent, {summary.failed:,} failed, {summary.retrying:,} to retry "
          f"later; {outbox.pending():,} still queued.")
    for error in summary.errors[:10]:
        print(f"  {error}", file=sys.stderr)
    return 1 if token.cancelled else 0


def mail_status(args: argparse.Namespace, actor: StaffSession | None) -> int:
    for state, count in outbox.state_counts(actor).items():
        print(f"{state + ':':<11} {count:,}")
    return 0
