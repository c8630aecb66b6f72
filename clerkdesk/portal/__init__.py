"""The reference self-service portal households use (`clerkdesk portal serve`)."""

from .app import create_app

__all__ = ["create_app"]
