"""Bulk Web ID/PIN assign: the supervisor's go-live job (seed 001 "Bulk WebTrac ID/Pin Assign",
seed 000 bulk "Add User Name").

`preview` is a dry run that writes nothing. `start_run` records a run and returns a Job;
the job commits one batch of households at a time together with the run's cursor, so a
cancelled or crashed run resumed with `resume_run` carries on after the last committed
household and never does anything twice. `undo_run` rolls a run back as a whole, keeping
the accounts that have been used since.
"""

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime

from clerkdesk.models import BulkAssignRun, database, utcnow

from . import audit, runs_claim
from .bulk_decisions import Decider, Decision, Namespace
from .bulk_targets import Scope, batches, count_households
from .bulk_writer import Batch, write_batch
from .errors import ValidationError
from .jobs import Cancelled, CancelToken, Job, Progress, ProgressCallback
from .permissions import Permission, require
from .pin_rules import parse_pin_rule
from .session import StaffSession
from .timestamps import local_text
from .username_rules import compile_rule

COLLISION_CHOICES = ("suffix", "exception")
BATCH = 500
SAMPLE = 20
CONFIRM_WORD = "YES"


@dataclass(frozen=True)
class AssignOptions:
    scope: Scope = field(default_factory=Scope)
    only_with_email: bool = False
    overwrite: bool = False
    must_change: bool = True
    usernames: str = "webreg"
    pins: str = "random"
    on_collision: str = "suffix"

    def check(self) -> None:
        self.scope.check()
        compile_rule(self.usernames)
        parse_pin_rule(self.pins)
        if self.on_collision not in COLLISION_CHOICES:
            raise ValidationError("collisions", "Collisions get a numeric suffix or are "
                                  "listed as exceptions (suffix or exception).")

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "AssignOptions":
        values = json.loads(text)
        scope = values.pop("scope")
        scope["pass_types"] = tuple(scope["pass_types"])
        return cls(scope=Scope(**scope), **values)


@dataclass(frozen=True)
class Preview:
    households: int
    assigned: int
    exceptions: list[Decision]
    sample: list[Decision]
    live_logins_overwritten: int
    pins_minted_at_delivery: bool
    pin_description: str

    @property
    def by_reason(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for decision in self.exceptions:
            counts[decision.reason] = counts.get(decision.reason, 0) + 1
        return counts


def preview(actor: StaffSession, options: AssignOptions,
            report: ProgressCallback | None = None, cancel: CancelToken | None = None
            ) -> Preview:
    """A dry run: every decision the run would make, nothing written."""
    require(actor, Permission.BULK_ASSIGN)
    options.check()
    decider = _decider(options)
    namespace = Namespace(remember=True)
    total, done = count_households(options.scope), 0
    assigned, live, exceptions, sample = 0, 0, [], []
    for _, targets in batches(options.scope, 0, BATCH):
        if cancel is not None:
            cancel.raise_if_cancelled()
        for decision in decider.decide(targets, namespace):
            if decision.outcome == "exception":
                exceptions.append(decision)
                continue
            assigned += 1
            live += decision.overwrites_live_login
            if len(sample) < SAMPLE:
                sample.append(replace(decision, pin=""))  # a preview never holds a PIN
        done += len({t.household_id for t in targets})
        if report is not None:
            report(Progress(done, total, f"{done:,} of {total:,} households looked at"))
    rule = parse_pin_rule(options.pins)
    return Preview(total, assigned, exceptions, sample, live, rule.minted_at_delivery,
                   rule.describe())


def _decider(options: AssignOptions) -> Decider:
    return Decider(options.usernames, options.pins, options.only_with_email, options.overwrite,
                   options.on_collision, options.scope)


def start_run(actor: StaffSession, options: AssignOptions, confirm: str = "") -> "BulkAssignJob":
    """Record a new run and return the job that carries it out."""
    require(actor, Permission.BULK_ASSIGN)
    options.check()
    if options.overwrite and confirm.strip() != CONFIRM_WORD:
        raise ValidationError("confirm", "Overwriting existing credentials replaces logins "
                              f"households may be using: type {CONFIRM_WORD} to confirm.")
    with database.atomic():
        _refuse_while_unfinished()
        run = BulkAssignRun.create(started_by=actor.username, options=options.to_json(),
                                   runner=runs_claim.this_runner(),
                                   total=count_households(options.scope),
                                   retry_of=options.scope.retry_of)
        audit.record(actor, "bulk_assign.start", "bulk_assign_run", run.id,
                     households=run.total, usernames=options.usernames,
                     overwrite=options.overwrite, scope=options.scope.kind)
    return BulkAssignJob(actor, run.id)


def resume_run(actor: StaffSession, run_id: int) -> "BulkAssignJob":
    require(actor, Permission.BULK_ASSIGN)
    run = run_by_id(run_id)
    if run.state not in ("running", "cancelled"):
        raise ValidationError("run", f"Run {run.id} is {run.state}; only a cancelled or "
                              "interrupted run can be resumed.")
    with database.atomic():
        if not runs_claim.claim(run):
            raise ValidationError("run", f"Run {run.id} is still being carried out by "
                                  f"{run.runner or 'another desk'} (last batch at "
                                  f"{local_text(run.heartbeat_at, seconds=True)}). Wait until "
                                  "it stops or a few minutes have passed without progress.")
        audit.record(actor, "bulk_assign.resume", "bulk_assign_run", run.id, done=run.done)
    return BulkAssignJob(actor, run.id)


def unfinished_run() -> BulkAssignRun | None:
    """The run that stopped before its end (cancelled, or the program died), if any."""
    return (BulkAssignRun.select().where(BulkAssignRun.state.in_(("running", "cancelled")))
            .order_by(BulkAssignRun.id.desc()).first())


def _refuse_while_unfinished() -> None:
    waiting = unfinished_run()
    if waiting is not None:
        raise ValidationError("run", f"Run {waiting.id} (started "
                              f"{local_text(waiting.started_at)} by "
                              f"{waiting.started_by}) stopped at {waiting.done:,} of "
                              f"{waiting.total:,} households: resume it or undo it first.")


def run_by_id(run_id: object) -> BulkAssignRun:
    run = BulkAssignRun.get_or_none(BulkAssignRun.id == run_id) \
        if isinstance(run_id, int) else None
    if run is None:
        raise ValidationError("run", f"There is no bulk assign run {run_id}.")
    return run


class BulkAssignJob(Job):
    title = "Bulk Web ID/PIN Assign"

    def __init__(self, actor: StaffSession, run_id: int) -> None:
        self.actor, self.run_id = actor, run_id

    def run(self, report: ProgressCallback, cancel: CancelToken) -> BulkAssignRun:
        run = run_by_id(self.run_id)
        options = AssignOptions.from_json(run.options)
        decider = _decider(options)
        size = BATCH if decider.pin_rule.minted_at_delivery else decider.hashing_batch
        try:
            for last, targets in batches(options.scope, run.cursor_household, size):
                cancel.raise_if_cancelled()
                decisions = decider.decide(targets, Namespace(remember=False))
                batch = Batch(decisions, decider.hash_pins(decisions), last,
                              len({t.household_id for t in targets}))
                write_batch(self.actor, run, batch, must_change=options.must_change,
                            pin_rule=decider.pin_rule.stored)
                report(Progress(run.done, run.total, f"{run.done:,} of {run.total:,} "
                                f"households; {run.assigned:,} assigned, {run.exceptions:,} "
                                "exceptions"))
        except Cancelled:
            self._stop(run, "cancelled")
            raise
        self._stop(run, "finished")
        return run

    def _stop(self, run: BulkAssignRun, state: str) -> None:
        with database.atomic():
            run.state, run.finished_at = state, utcnow()
            run.save()
            audit.record(self.actor, f"bulk_assign.{state}", "bulk_assign_run", run.id,
                         done=run.done, assigned=run.assigned, exceptions=run.exceptions)


@dataclass(frozen=True)
class RunView:
    id: int
    started_by: str
    started_at: datetime
    state: str
    total: int
    done: int
    assigned: int
    exceptions: int
    options: AssignOptions

    @property
    def resumable(self) -> bool:
        return self.state in ("running", "cancelled")

    @property
    def summary(self) -> str:
        return (f"Run {self.id}, started {local_text(self.started_at)} by "
                f"{self.started_by}: {self.done:,} of {self.total:,} households, "
                f"{self.assigned:,} logins assigned, {self.exceptions:,} exceptions "
                f"({self.state}).")


def run_view(run: BulkAssignRun) -> RunView:
    return RunView(run.id, run.started_by, run.started_at, run.state, run.total, run.done,
                   run.assigned, run.exceptions, AssignOptions.from_json(run.options))


def get_run(actor: StaffSession, run_id: int) -> RunView:
    require(actor, Permission.BULK_ASSIGN)
    return run_view(run_by_id(run_id))


def recent_runs(actor: StaffSession, limit: int = 50) -> list[RunView]:
    require(actor, Permission.BULK_ASSIGN)
    runs = BulkAssignRun.select().order_by(BulkAssignRun.id.desc()).limit(limit)
    return [run_view(run) for run in runs]
