"""Committing one batch of a bulk assign: the accounts, the run's items, the search index,
the audit trail and the run's cursor, all in one transaction — so a batch is either wholly
done or not at all, and a resumed run starts exactly after the last whole batch."""

from dataclasses import dataclass

from peewee import IntegrityError

from clerkdesk.models import BulkAssignItem, BulkAssignRun, Household, WebAccount, database, utcnow

from . import audit, search_index
from .bulk import bulk_insert
from .bulk_decisions import Decision
from .errors import ValidationError
from .session import StaffSession
from .usernames import username_key

_ITEM_FIELDS = [BulkAssignItem.run, BulkAssignItem.household, BulkAssignItem.member,
                BulkAssignItem.account, BulkAssignItem.outcome, BulkAssignItem.reason,
                BulkAssignItem.detail, BulkAssignItem.username, BulkAssignItem.created_account,
                BulkAssignItem.previous_username, BulkAssignItem.previous_hash,
                BulkAssignItem.previous_must_change, BulkAssignItem.previous_source,
                BulkAssignItem.previous_pin_rule]
_ACCOUNT_FIELDS = [WebAccount.household, WebAccount.member, WebAccount.username,
                   WebAccount.username_key, WebAccount.password_hash, WebAccount.must_change,
                   WebAccount.pin_rule, WebAccount.password_changed_at, WebAccount.created_at,
                   WebAccount.changed_at]


@dataclass(frozen=True)
class Batch:
    decisions: list[Decision]
    hashes: dict[int, str]  # index in decisions -> hash of its pattern PIN
    last_household: int
    households: int


def write_batch(actor: StaffSession, run: BulkAssignRun, batch: Batch, *, must_change: bool,
                pin_rule: str) -> None:
    """`pin_rule` is what new logins keep to mint their PIN at delivery ("" for pattern PINs)."""
    try:
        _write(actor, run, batch, must_change, pin_rule)
    except IntegrityError:
        raise ValidationError("user name", "A user name this batch was about to give was "
                              "taken at another desk meanwhile; nothing of the batch was "
                              "saved. Resume the run to carry on.") from None


def _write(actor: StaffSession, run: BulkAssignRun, batch: Batch, must_change: bool,
           pin_rule: str) -> None:
    decisions, hashes, now = batch.decisions, batch.hashes, utcnow()
    with database.atomic():
        items = []
        new = [(i, d) for i, d in enumerate(decisions)
               if d.outcome == "assigned" and d.target.existing is None]
        created = _create_accounts(new, hashes, must_change, pin_rule, now)
        for index, decision in enumerate(decisions):
            if decision.outcome == "exception":
                items.append(_item(run, decision, None))
            elif decision.target.existing is None:
                items.append(_item(run, decision, created[username_key(decision.username)],
                                   created_account=True))
            else:
                items.append(_overwrite(run, decision, hashes.get(index), must_change,
                                        pin_rule, now))
        bulk_insert(BulkAssignItem, _ITEM_FIELDS, items)
        _reindex({d.target.household_id for d in decisions if d.outcome == "assigned"})
        audit.record_many(actor, "web_account.bulk_assign", "web_account",
                          [(item[3], item[1], {"run": run.id, "username": item[7]})
                           for item in items if item[4] == "assigned"])
        _advance(run, batch)


def _create_accounts(new: list[tuple[int, Decision]], hashes: dict[int, str],
                     must_change: bool, pin_rule: str, now) -> dict[str, int]:
    rows = [(d.target.household_id, d.target.member_id, d.username, username_key(d.username),
             hashes.get(i), must_change, pin_rule, now if i in hashes else None, now, now)
            for i, d in new]
    bulk_insert(WebAccount, _ACCOUNT_FIELDS, rows)
    keys = [row[3] for row in rows]
    return dict(WebAccount.select(WebAccount.username_key, WebAccount.id)
                .where(WebAccount.username_key.in_(keys)).tuples()) if keys else {}


def _overwrite(run: BulkAssignRun, decision: Decision, hashed: str | None, must_change: bool,
               pin_rule: str, now) -> tuple:
    account = WebAccount.get_by_id(decision.target.existing.id)
    item = _item(run, decision, account.id, previous=account)
    account.username, account.username_key = decision.username, username_key(decision.username)
    account.password_hash, account.pin_rule = hashed, pin_rule
    account.must_change, account.password_source = must_change, "assigned"
    account.password_changed_at = now if hashed else None
    account.failed_attempts, account.locked, account.locked_at = 0, False, None
    account.credentials_delivered_at, account.changed_at = None, now
    account.save()
    return item


def _item(run: BulkAssignRun, decision: Decision, account_id: int | None, *,
          created_account: bool = False, previous: WebAccount | None = None) -> tuple:
    target = decision.target
    before = (None, None, None, None, None) if previous is None else (
        previous.username, previous.password_hash, previous.must_change,
        previous.password_source, previous.pin_rule)
    return (run.id, target.household_id, target.member_id, account_id, decision.outcome,
            decision.reason, decision.detail, decision.username, created_account, *before)


def _reindex(household_ids: set[int]) -> None:
    if household_ids:
        search_index.reindex_many(list(Household.select()
                                       .where(Household.id.in_(list(household_ids)))))


def _advance(run: BulkAssignRun, batch: Batch) -> None:
    assigned = sum(1 for d in batch.decisions if d.outcome == "assigned")
    run.cursor_household = batch.last_household
    run.done += batch.households
    run.assigned += assigned
    run.exceptions += len(batch.decisions) - assigned
    run.heartbeat_at = utcnow()
    run.save()
