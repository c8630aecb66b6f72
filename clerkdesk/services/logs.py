"""Where ClerkDesk writes its log: a rotating file in the data folder. Never a secret in it."""

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from clerkdesk.models import data_dir


def configure_logging(level: int = logging.INFO, console: bool = False) -> Path:
    folder = data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "clerkdesk.log"
    root = logging.getLogger()
    if any(isinstance(h, RotatingFileHandler) for h in root.handlers):
        return path
    handler = RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    if console:
        stream = logging.StreamHandler()
        stream.setLevel(logging.WARNING)
        stream.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        root.addHandler(stream)
    root.setLevel(level)
    return path
