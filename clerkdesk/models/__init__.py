"""Peewee models, database setup and migrations. No Qt, no permissions, no business rules."""

from .base import database, utcnow
from .bulk_runs import BULK_RUN_STATES, BulkAssignItem, BulkAssignRun
from .connection import DatabaseInfo, data_dir, default_url, open_database, redact, resolve_url
from .errors import ClerkDeskError, DatabaseConfigError, DatabaseUnavailable, SchemaTooNew
from .household import Household, Member
from .mailings import (
    CHANNELS,
    MAILING_STATES,
    CommunicationHistory,
    HistoryCategory,
    Mailing,
    MailingAttachment,
)
from .outbox import OUTBOX_STATES, OutboxMessage
from .passes import PASS_STATUSES, Pass, PassType
from .records import AuditEvent, CaseNote
from .schema import ALL_MODELS, SCHEMA_VERSION
from .search import SearchToken
from .settings import PasswordPolicy, Setting
from .sign_ups import SIGN_UP_STATES, SignUpReview
from .staff import Role, RolePermission, StaffUser
from .templates import EmailTemplate
from .tokens import Token
from .web_account import WebAccount

__all__ = [
    "ALL_MODELS",
    "BULK_RUN_STATES",
    "CHANNELS",
    "MAILING_STATES",
    "OUTBOX_STATES",
    "PASS_STATUSES",
    "SCHEMA_VERSION",
    "SIGN_UP_STATES",
    "AuditEvent",
    "BulkAssignItem",
    "BulkAssignRun",
    "CaseNote",
    "ClerkDeskError",
    "CommunicationHistory",
    "DatabaseConfigError",
    "DatabaseInfo",
    "DatabaseUnavailable",
    "EmailTemplate",
    "HistoryCategory",
    "Household",
    "Mailing",
    "MailingAttachment",
    "Member",
    "OutboxMessage",
    "Pass",
    "PassType",
    "PasswordPolicy",
    "Role",
    "RolePermission",
    "SchemaTooNew",
    "SearchToken",
    "Setting",
    "SignUpReview",
    "StaffUser",
    "Token",
    "WebAccount",
    "data_dir",
    "database",
    "default_url",
    "open_database",
    "redact",
    "resolve_url",
    "utcnow",
]
