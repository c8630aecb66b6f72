"""How errors reach a person: the service's own message, never a traceback."""

import logging

from PySide6.QtWidgets import QMessageBox, QWidget

from clerkdesk.services.errors import ClerkDeskError

log = logging.getLogger(__name__)


def error_text(error: Exception) -> str:
    if isinstance(error, ClerkDeskError):
        return error.message
    log.error("Unexpected error", exc_info=error)
    return ("Something unexpected went wrong; nothing was saved. The details are in the log "
            "file; please pass them on to your administrator.")


def show_error(parent: QWidget | None, title: str, error: Exception) -> None:
    QMessageBox.warning(parent, title, error_text(error))
