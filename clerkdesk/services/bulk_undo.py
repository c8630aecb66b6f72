"""Rolling back a bulk assign run as a whole: logins it created are deleted, logins it
overwrote get their previous user name and password hash back — except those a household has
used since, which are listed and kept."""

from dataclasses import dataclass

from clerkdesk.models import BulkAssignItem, BulkAssignRun, Household, WebAccount, database

from . import audit, search_index
from .bulk_assign import run_by_id
from .errors import ValidationError
from .permissions import Permission, require
from .session import StaffSession
from .timestamps import local_text
from .usernames import username_key


@dataclass(frozen=True)
class KeptAccount:
    household_id: int
    username: str
    why: str


@dataclass(frozen=True)
class UndoResult:
    deleted: int
    restored: int
    kept: list[KeptAccount]


def undo_run(actor: StaffSession, run_id: int) -> UndoResult:
    require(actor, Permission.BULK_ASSIGN)
    with database.atomic():
        run = _undoable(run_id)
        deleted, restored, kept, touched = 0, 0, [], set()
        items = (BulkAssignItem.select().where((BulkAssignItem.run == run.id)
                                               & (BulkAssignItem.outcome == "assigned")
                                               & BulkAssignItem.account.is_null(False)))
        for item in items:
            account = WebAccount.get_or_none(WebAccount.id == item.account_id)
            if account is None:
                continue
            why = _used_since(account, item, run) or _name_taken_since(account, item)
            if why:
                kept.append(KeptAccount(item.household_id, account.username, why))
                continue
            touched.add(item.household_id)
            if item.created_account:
                account.delete_instance()
                deleted += 1
            else:
                _restore(account, item)
                restored += 1
        run.state = "undone"
        run.save()
        if touched:
            search_index.reindex_many(list(Household.select()
                                           .where(Household.id.in_(list(touched)))))
        audit.record(actor, "bulk_assign.undo", "bulk_assign_run", run.id, deleted=deleted,
                     restored=restored, kept=len(kept))
    return UndoResult(deleted, restored, kept)


def _undoable(run_id: object) -> BulkAssignRun:
    run = run_by_id(run_id)
    if run.state == "undone":
        raise ValidationError("run", f"Run {run.id} has already been undone.")
    return run


def _used_since(account: WebAccount, item: BulkAssignItem, run: BulkAssignRun) -> str:
    """Why this login must be kept, or "" when nobody has touched it since the run."""
    if account.last_login is not None and account.last_login >= run.started_at:
        return f"signed in on {local_text(account.last_login)}"
    if account.password_source == "owner":
        return "the household has chosen its own password"
    if account.username != item.username:
        return f"its user name has been changed since, to “{account.username}”"
    if account.credentials_delivered_at is not None:
        return "its credentials have been sent to the household"
    return ""


def _name_taken_since(account: WebAccount, item: BulkAssignItem) -> str:
    if item.created_account:
        return ""
    holder = WebAccount.get_or_none(WebAccount.username_key == username_key(
        item.previous_username))
    if holder is not None and holder.id != account.id:
        return f"its old user name “{item.previous_username}” belongs to another login now"
    return ""


def _restore(account: WebAccount, item: BulkAssignItem) -> None:
    account.username = item.previous_username
    account.username_key = username_key(item.previous_username)
    account.password_hash = item.previous_hash
    account.must_change = item.previous_must_change
    account.password_source = item.previous_source
    account.pin_rule = item.previous_pin_rule or ""
    account.save()
