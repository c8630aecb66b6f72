"""Serving the portal with waitress, a production WSGI server that needs no compiler.

TLS belongs to the reverse proxy in front (nginx, Caddy, a load balancer); name it with
`trusted_proxy` and the portal sees HTTPS, marks its cookie `Secure` and sends HSTS.
"""

import logging
import threading
from dataclasses import dataclass

from flask import Flask
from waitress import wasyncore
from waitress.server import create_server

from clerkdesk.services import portal_sessions

from .app import DEFAULT_LIMIT, create_app
from .background import EXTENSION

log = logging.getLogger(__name__)
# bcrypt runs outside the interpreter lock, so two threads keep both cores of a small server
# hashing while two more serve pages; more threads only make page requests queue for the
# lock (benchmarks/bench_portal.py, 2 cores: the landing page's p95 15.8 ms with 4 threads,
# 18.7 ms with 8; sign-ins at 94-98 % of the bcrypt limit either way).
DEFAULT_THREADS = 4


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8080
    threads: int = DEFAULT_THREADS
    limit: str = DEFAULT_LIMIT
    trusted_proxy: str | None = None
    organisation: str = ""


class RunningPortal:
    """A portal server on a background thread (tests, benchmarks, screenshots)."""

    def __init__(self, app: Flask, options: ServeOptions) -> None:
        self.app = app
        self.server = create_server(app, **_waitress_settings(options))
        self.thread = threading.Thread(target=self.server.run, name="portal-server",
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.server.effective_host}:{self.server.effective_port}"

    def __enter__(self) -> "RunningPortal":
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        # Closing only the listening socket would leave keep-alive connections serving, and
        # closing sockets from this thread would pull them from under the loop's select():
        # the loop thread closes everything itself, then its loop ends.
        self.server.trigger.pull_trigger(lambda: wasyncore.close_all(self.server._map))
        self.thread.join(timeout=5)
        self.server.task_dispatcher.shutdown()
        self.app.extensions[EXTENSION].shutdown()


def build(options: ServeOptions, *, secret_key: str | None = None) -> Flask:
    removed = portal_sessions.purge_expired()
    if removed:
        log.info("Removed %s ended portal sessions", removed)
    return create_app(limit=options.limit, organisation=options.organisation,
                      secret_key=secret_key)


def serve(options: ServeOptions) -> None:
    """Serve until Ctrl+C (waitress ends its loop on the interrupt and returns)."""
    app = build(options)
    server = create_server(app, **_waitress_settings(options))
    log.info("ClerkDesk portal on http://%s:%s", server.effective_host, server.effective_port)
    print(f"ClerkDesk portal: http://{options.host}:{server.effective_port}  (Ctrl+C stops)",
          flush=True)
    try:
        server.run()
    finally:
        app.extensions[EXTENSION].shutdown()  # emails already promised go out
    print("Portal stopped.", flush=True)


def _waitress_settings(options: ServeOptions) -> dict[str, object]:
    settings: dict[str, object] = {
        "host": options.host, "port": options.port, "threads": options.threads,
        "ident": "ClerkDesk", "max_request_body_size": 1024 * 1024,
        "expose_tracebacks": False,
    }
    if options.trusted_proxy:
        settings.update(trusted_proxy=options.trusted_proxy, trusted_proxy_count=1,
                        trusted_proxy_headers={"x-forwarded-for", "x-forwarded-proto",
                                               "x-forwarded-host", "x-forwarded-port"},
                        clear_untrusted_proxy_headers=True)
    return settings
