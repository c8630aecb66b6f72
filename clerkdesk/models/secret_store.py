"""Secrets the program itself needs (database and SMTP passwords), kept in the OS keyring.

On a headless machine with no keyring service the file keyring of `keyrings.alt` is chosen
explicitly and a warning says where it lives, instead of keyring's silent failure backend.
"""

import logging

import keyring
from keyring.backends import fail

log = logging.getLogger(__name__)
SERVICE = "ClerkDesk"
_checked = False


def _ensure_backend() -> None:
    global _checked
    if _checked:
        return
    _checked = True
    if isinstance(keyring.get_keyring(), fail.Keyring):
        from keyrings.alt.file import PlaintextKeyring

        backend = PlaintextKeyring()
        keyring.set_keyring(backend)
        log.warning(
            "No OS keyring is available; ClerkDesk keeps its own service passwords in %s. "
            "Install a keyring service (e.g. gnome-keyring) or set PYTHON_KEYRING_BACKEND.",
            backend.file_path,
        )


def get_secret(name: str) -> str | None:
    """The stored secret called `name`, or None when there is none."""
    _ensure_backend()
    return keyring.get_password(SERVICE, name)


def set_secret(name: str, value: str) -> None:
    _ensure_backend()
    keyring.set_password(SERVICE, name, value)
