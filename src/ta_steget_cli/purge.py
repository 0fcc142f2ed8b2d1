"""The yearly purge: who would go (read only), the plan, applying it, undoing it, pruning backups.

The rule (spec, "The purge"): the cut-off is the as-of date minus `inactive_years` years; a person
registered (Stockholm date) before it is a candidate; a candidate is kept when an activity of the
configured kinds is dated or registered on or after the cut-off, or when the person subscribes to
the newsletter. Selection costs pages, never persons: Person scans, and PersonActivity queries
by chunks of ids.

Applying follows pipx's rule: back up, then change. For each planned person: re-read, re-check,
append the whole entity to the backup (synced), journal the intent (synced), delete with
If-Unmodified-Since, journal the outcome. Every step is in the journal, so the same command
again carries on where a crash, a Ctrl-C or a lost connection stopped it.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from . import journal as j
from .config import Config, PurgeSettings
from .errors import (
    ApiError,
    AuthError,
    Conflict,
    NotFound,
    TenantUnavailable,
    TransientError,
    UsageError,
)
from .i18n import _
from .journal import Plan, PlannedPerson
from .models import Person, PurgeCandidate
from .parallel import in_order, together
from .register import (
    ArchiveSource,
    Register,
    entity_has_emarketing,
    entity_has_interest,
    entity_registered,
    entity_updated,
)
from .workdays import local_date, purge_cutoff, today_stockholm

log = logging.getLogger("ta_steget_cli.purge")

# How many planned persons share one activity re-check query during apply: one extra request per
# block (0.5 % of the two calls per person), and a person's activity is at most one block's
# worth of time (100 persons at 10 calls/s: 20 s) old when the delete goes.
RECHECK_BLOCK = 100
# What the dry run needs of each candidate: a name to show, the registration to judge by, and
# the update time the plan's delete is conditioned on. No addresses or phones: the register's
# older half is read, and the least personal data that lets the administrator act is a name.
CANDIDATE_COLUMNS = ("personId", "fullName", "personRegisteredDate", "personUpdatedDate")


class PersonClient(ArchiveSource, Protocol):
    """What the purge needs of the SuperOffice client."""

    @property
    def tenant_id(self) -> str: ...

    def get_person(self, person_id: int) -> dict[str, Any]: ...

    def delete_person(
        self, person_id: int, *, if_unmodified_since: datetime | None = None
    ) -> None: ...

    def undelete_person(self, person_id: int) -> None: ...


# ---------------------------------------------------------------- selection


@dataclass(frozen=True)
class Selection:
    """The dry-run's answer: who goes, and why the others stay."""

    as_of: date
    cutoff: date
    candidates: int  # registered before the cut-off
    kept_subscribers: int
    kept_recent_activity: int
    to_delete: tuple[PurgeCandidate, ...]
    updated: dict[int, datetime | None] = field(repr=False)  # as seen, for the plan

    def summary(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "cutoff": self.cutoff.isoformat(),
            "candidates": self.candidates,
            "kept_subscribers": self.kept_subscribers,
            "kept_recent_activity": self.kept_recent_activity,
            "to_delete": len(self.to_delete),
        }


def rule_of(settings: PurgeSettings, cutoff: date) -> dict[str, Any]:
    """The rule as written into a plan: what was asked, so a reviewer can see it."""
    return {
        "cutoff": cutoff.isoformat(),
        "inactive_years": settings.inactive_years,
        "activity_kinds": list(counted_kinds(settings)),
        "keep_emarketing_consent": settings.keep_emarketing_consent,
        "newsletter_interest": settings.newsletter_interest,
    }


def counted_kinds(settings: PurgeSettings) -> tuple[str, ...]:
    # Mass mailings are never a sign of life, whatever the config says.
    return tuple(k for k in settings.activity_kinds if k != "mailing")


def purge_candidates(
    source: ArchiveSource,
    config: Config,
    as_of: date,
    *,
    note: Callable[[str], None] | None = None,
) -> Selection:
    """Who the purge would remove as of `as_of`, and how many were kept for which reason."""
    settings = config.purge
    cutoff = purge_cutoff(as_of, settings.inactive_years)
    register = Register(source, config, as_of)
    before = register.registered_before(cutoff)
    say = note or (lambda _text: None)

    kinds = counted_kinds(settings)

    def kept_and_going() -> tuple[dict[int, Person], set[int], set[int], dict[int, date]]:
        """The candidates, the subscribers and the recently active among them, and the last
        activity day of those who go."""
        found, subscribed = together(
            register.workers,
            lambda: list(register.persons(before, columns=CANDIDATE_COLUMNS)),
            lambda: register.subscribers(before),
        )
        persons = {
            p.person_id: p
            for p in found
            if p.registered is not None and local_date(p.registered) < cutoff
        }
        subscribers = subscribed & persons.keys()
        rest = sorted(persons.keys() - subscribers)
        active: set[int] = set()

        def going() -> Iterator[int]:
            """Those of `rest` with no activity since the cut-off, chunk by chunk as their
            recent activities come in: the last activities of a chunk's leavers are asked
            while later chunks' recent ones are still being read, not after all of them."""
            say(_("reading activities since the cut-off, and the last one of those who go"))
            since = register.activity_on_or_after(cutoff)
            for asked, found in register.activity_chunks(rest, kinds, since):
                here = {a.person_id for a in found if counts_since(a.date, a.registered, cutoff)}
                active.update(here)
                yield from (pid for pid in asked if pid not in here)

        last = last_activities(register, going(), kinds)
        return persons, subscribers, active, last

    # The municipalities ask about the same registrations and nothing else: their scans go on
    # beside the persons, the subscribers and then the activities. (One read of all the
    # others' activities would save a round of answers but, in a large register, read every
    # old activity of the active ones: more requests than it saves.)
    say(_("reading persons registered before the cut-off, subscribers and municipalities"))
    (persons, subscribers, active, last), kommuner = together(
        register.workers, kept_and_going, lambda: register.memberships(before)
    )
    rest = sorted(persons.keys() - subscribers)
    going = [pid for pid in rest if pid not in active]
    to_delete = tuple(
        PurgeCandidate(
            person_id=pid,
            name=persons[pid].name,
            registered=_local(persons[pid].registered),
            last_activity=last.get(pid),
            kommuner=kommuner.get(pid, ()),
        )
        for pid in going
    )
    return Selection(
        as_of=as_of,
        cutoff=cutoff,
        candidates=len(persons),
        kept_subscribers=len(subscribers),
        kept_recent_activity=len(active),
        to_delete=to_delete,
        updated={pid: persons[pid].updated for pid in going},
    )


def counts_since(dated: datetime | None, registered: datetime | None, cutoff: date) -> bool:
    """An activity dated or registered (Stockholm date) on or after the cut-off."""
    return any(m is not None and local_date(m) >= cutoff for m in (dated, registered))


def last_activities(
    register: Register, ids: Iterable[int], kinds: Iterable[str]
) -> dict[int, date]:
    """The latest Stockholm day (dated or registered) of each person's counted activities.

    One more chunked query over the persons who go (their activities are all before the cut-off,
    so no date filter narrows it); chunks are sized from the rows per person seen so far.
    `ids` ascending and unique, taken as the chunks are made (they may still be coming)."""
    last: dict[int, date] = {}
    found = (a for _asked, chunk in register.activity_chunks(ids, kinds) for a in chunk)
    for a in found:
        for moment in (a.date, a.registered):
            if moment is not None:
                day = local_date(moment)
                if day > last.get(a.person_id, date.min):
                    last[a.person_id] = day
    return last


def _local(moment: datetime | None) -> date | None:
    return local_date(moment) if moment is not None else None


# ---------------------------------------------------------------- the plan


def make_plan(
    selection: Selection, settings: PurgeSettings, tenant: str, now: datetime | None = None
) -> Plan:
    return Plan(
        tenant=tenant,
        as_of=selection.as_of,
        created_at=(now or datetime.now(UTC)).replace(microsecond=0),
        rule=rule_of(settings, selection.cutoff),
        persons=tuple(
            PlannedPerson(c.person_id, _utc_text(selection.updated.get(c.person_id)))
            for c in selection.to_delete
        ),
    )


def _utc_text(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True)
class Overrides:
    """The explicit options that let a refused plan through, one per refusal."""

    other_tenant: bool = False
    old_plan: bool = False
    edited_plan: bool = False
    large_share: bool = False


def future_as_of(as_of: date, today: date) -> str | None:
    """Why an as-of date after today (Stockholm) cannot be purged on, or None.

    A date in the future would count the years of inactivity up to a day that has not come:
    persons active last month would look inactive. No override: there is no good reason."""
    if as_of <= today:
        return None
    return _(
        "the as-of date {as_of} is after today ({today}, Stockholm); the purge can only count "
        "inactivity up to today"
    ).format(as_of=as_of.isoformat(), today=today.isoformat())


def plan_refusal(
    plan: Plan,
    tenant: str,
    settings: PurgeSettings,
    overrides: Overrides,
    now: datetime | None = None,
) -> str | None:
    """Why this plan must not be applied without an override (one line), or None.

    Checked in order of how cheap: the share needs a scan of the register, so it is asked last
    and separately (`share_refusal`)."""
    moment = now or datetime.now(UTC)
    future = future_as_of(plan.as_of, local_date(moment))
    if future:
        return _("{reason}; make a new plan as of today or earlier").format(reason=future)
    if not plan.checksum_ok and not overrides.edited_plan:
        return (
            "the plan's checksum does not match its content: it was edited or damaged since "
            "it was made; make a new one with --dry-run --plan-out, or pass --allow-edited-plan"
        )
    if plan.tenant != tenant and not overrides.other_tenant:
        return (
            f"the plan was made for tenant {plan.tenant}, not {tenant}; "
            "pass --allow-other-tenant if that is really meant"
        )
    age = moment - plan.created_at
    if age > timedelta(days=settings.max_plan_age_days) and not overrides.old_plan:
        return (
            f"the plan is {age.days} days old (more than max_plan_age_days = "
            f"{settings.max_plan_age_days}); make a new one, or pass --allow-old-plan"
        )
    return None


def share_refusal(
    planned: int, register_size: int, settings: PurgeSettings, overrides: Overrides
) -> str | None:
    """Refuses a plan that would remove more than max_share of the register."""
    if overrides.large_share or planned == 0:
        return None
    share = planned / max(register_size, 1)
    if share <= settings.max_share:
        return None
    return (
        f"the plan would remove {planned} of {register_size} persons ({share:.1%}), more than "
        f"max_share = {settings.max_share:.0%}; pass --allow-large-share if that is really meant"
    )


def refuse_plan(
    client: PersonClient,
    config: Config,
    plan: Plan,
    overrides: Overrides,
    now: datetime | None = None,
) -> None:
    """Raises UsageError (exit 2, one line naming the override) for a plan that must not run."""
    reason = plan_refusal(plan, client.tenant_id, config.purge, overrides, now)
    if reason is None and not overrides.large_share:
        reason = share_refusal(*plan_share(client, config, plan), config.purge, overrides)
    if reason:
        text = _("--plan {path}: refused: {reason}")
        raise UsageError(text.format(path=plan.path, reason=reason))


def plan_share(client: PersonClient, config: Config, plan: Plan) -> tuple[int, int]:
    """(persons the plan removes, the register's size before this plan began): the persons this
    plan already deleted are counted back in, so a resumed run sees the same share."""
    journal_path, _, _ = j.purge_files(config.purge.data_dir, plan.key)
    gone = len(j.journal_history(journal_path).maybe_gone())
    register = Register(client, config, today_stockholm())
    return len(plan.persons), register.count_persons() + gone


# ---------------------------------------------------------------- apply


@dataclass
class Outcome:
    person_id: int
    step: str  # done | skipped | failed
    reason: str


@dataclass
class ApplyResult:
    planned: int
    journal: Path
    backup: Path
    report: Path | None = None
    done: int = 0  # deleted now (or found gone after our intent)
    already_done: int = 0  # done or skipped in an earlier run of the same plan
    skipped: list[Outcome] = field(default_factory=list)
    failed: list[Outcome] = field(default_factory=list)
    stopped: str | None = None  # why the run stopped early (connection lost, ...)
    repaired: list[Path] = field(default_factory=list)  # torn tails moved aside before appending

    @property
    def status(self) -> str:
        """The result envelope: success | partial | error."""
        if self.stopped:
            return "error"
        return "partial" if self.failed else "success"


Progress = Callable[[int, int, Outcome], None]  # (handled so far, to handle, last outcome)


def apply_plan(
    client: PersonClient,
    config: Config,
    plan: Plan,
    *,
    progress: Progress | None = None,
    today: date | None = None,
    step: Callable[[], AbstractContextManager[object]] = nullcontext,
) -> ApplyResult:
    """Delete exactly the plan's persons that still match the rule, backed up and journaled.

    Resumes from the journal of the same plan: done and skipped persons are not touched again, an
    intent without an outcome is re-checked (gone now: done). Stops (result `error`, journal
    consistent) on a lost connection or a tenant that stopped answering; raises on Ctrl-C, with
    the journal consistent, too. `step()` wraps each person: the client's command deadline
    (cron) is checked as it is entered and not while a person is half done, so the run stops
    between persons."""
    journal_path, backup_path, report_path = j.purge_files(config.purge.data_dir, plan.key)
    result = ApplyResult(planned=len(plan.persons), journal=journal_path, backup=backup_path)
    # The register as of today (or the plan's day, if later) sees every activity up to now.
    register = Register(client, config, max(plan.as_of, today or today_stockholm()))
    kinds = tuple(plan.rule.get("activity_kinds") or counted_kinds(config.purge))
    with j.Journal(journal_path) as journal, j.Backup(backup_path) as backup:
        result.repaired = [p for p in (journal.repaired, backup.repaired) if p is not None]
        history = j.journal_history(journal_path)  # read under the journal's lock
        steps = {pid: state.get("step") for pid, state in history.states.items()}
        pending = [p for p in plan.persons if steps.get(p.person_id) not in j.FINAL]
        result.already_done = len(plan.persons) - len(pending)
        journal.write("start", plan=plan.key, tenant=client.tenant_id, pending=len(pending))
        handled = 0
        try:
            for start in range(0, len(pending), RECHECK_BLOCK):
                block = pending[start : start + RECHECK_BLOCK]
                active = recently_active(register, [p.person_id for p in block], kinds, plan)

                def one(planned: PlannedPerson, active: set[int] = active) -> Outcome:
                    had_intent = planned.person_id in history.maybe_deleted
                    with step():
                        return purge_one(
                            client, config.purge, plan, planned, active, had_intent, journal, backup
                        )

                # Persons side by side, each one's steps in order on one worker: the journal
                # and the backup take one line at a time, so they replay as before.
                for outcome in in_order(one, block, config.superoffice.max_in_flight):
                    _count(result, outcome)
                    handled += 1
                    if progress is not None:
                        progress(handled, len(pending), outcome)
        except (TransientError, TenantUnavailable, AuthError) as exc:
            # The next person would meet the same wall; the journal holds every step so far.
            result.stopped = str(exc)
            journal.write("stopped", reason=type(exc).__name__)
        finally:
            if result.skipped or result.failed:
                result.report = report_path
                write_report(report_path, j.journal_states(journal_path), plan)
        journal.write("end", done=result.done, skipped=len(result.skipped))
    return result


def recently_active(
    register: Register, ids: list[int], kinds: Iterable[str], plan: Plan
) -> set[int]:
    """Those of `ids` with a counted activity on or after the plan's cut-off, as of now."""
    cutoff = plan.cutoff
    found = register.activities(ids, kinds, register.activity_on_or_after(cutoff))
    return {a.person_id for a in found if counts_since(a.date, a.registered, cutoff)}


def purge_one(
    client: PersonClient,
    settings: PurgeSettings,
    plan: Plan,
    planned: PlannedPerson,
    active: set[int],
    had_intent: bool,
    journal: j.Journal,
    backup: j.Backup,
) -> Outcome:
    """Re-check, back up, delete and journal one person. Never touches anyone outside the plan:
    the id comes from the plan, and nothing here looks anyone else up."""
    pid = planned.person_id
    # After an intent only a read settles whether our delete went through, activity or not.
    if pid in active and not had_intent:
        return _record(journal, Outcome(pid, j.SKIPPED, "activity since the cut-off"))
    try:
        entity = client.get_person(pid)
    except NotFound:
        # Gone: either our delete went through (an intent was journaled: a crash, an error
        # answer after the commit), or someone else's did.
        gone = "deleted (confirmed on resume)" if had_intent else "already gone"
        return _record(journal, Outcome(pid, j.DONE, gone), deleted=had_intent)
    except (TransientError, TenantUnavailable, AuthError):
        raise
    except ApiError as exc:
        return _record(journal, Outcome(pid, j.FAILED, f"read failed: {short_error(exc)}"))
    keep = "activity since the cut-off" if pid in active else None
    keep = keep or why_keep(entity, settings, plan, planned)
    if keep:
        return _record(journal, Outcome(pid, j.SKIPPED, keep))
    # Synced and read back before the intent, and the intent before the delete.
    backup.write(pid, entity)
    journal.write(j.INTENT, pid)
    try:
        client.delete_person(pid, if_unmodified_since=entity_updated(entity))
    except NotFound:
        # Read a moment ago, gone now: almost always our own delete, whose answer was lost and
        # whose retry found the person gone. Undo should try them, so it counts as deleted.
        return _record(journal, Outcome(pid, j.DONE, "deleted (gone on retry)"), deleted=True)
    except Conflict:
        return _record(journal, Outcome(pid, j.SKIPPED, "changed while being deleted"))
    except (TransientError, TenantUnavailable, AuthError):
        raise
    except ApiError as exc:
        return settle_delete(client, journal, pid, f"delete failed: {short_error(exc)}")
    return _record(journal, Outcome(pid, j.DONE, "deleted"), deleted=True)


def settle_delete(client: PersonClient, journal: j.Journal, pid: int, failure: str) -> Outcome:
    """After an error answer to our DELETE: the server may have committed it all the same (a
    500 after the commit), so the register is read to tell what actually happened. When even
    the read fails, the intent stays in the journal and the next run reads again."""
    try:
        client.get_person(pid)
    except NotFound:
        outcome = Outcome(pid, j.DONE, f"deleted (answered {failure.split(': ', 1)[-1]}, but gone)")
        return _record(journal, outcome, deleted=True)
    except (TransientError, TenantUnavailable, AuthError):
        raise
    except ApiError as exc:
        return _record(
            journal, Outcome(pid, j.FAILED, f"{failure}; re-read failed: {short_error(exc)}")
        )
    return _record(journal, Outcome(pid, j.FAILED, failure))


def why_keep(
    entity: dict[str, Any], settings: PurgeSettings, plan: Plan, planned: PlannedPerson
) -> str | None:
    """Why this person must stay after all (one reason), or None."""
    if _utc_text(entity_updated(entity)) != planned.updated:
        return "changed since the plan was made"
    keep_consent = plan.rule.get("keep_emarketing_consent", settings.keep_emarketing_consent)
    if keep_consent and entity_has_emarketing(entity):
        return "newsletter subscriber (e-marketing consent)"
    interest = plan.rule.get("newsletter_interest", settings.newsletter_interest)
    if interest and entity_has_interest(entity, int(interest)):
        return "newsletter subscriber (newsletter interest)"
    registered = entity_registered(entity)
    # An edited plan can name anyone: the rule is checked again on the record itself.
    if registered is not None and local_date(registered) >= plan.cutoff:
        return "registered on or after the cut-off"
    return None


def _record(journal: j.Journal, outcome: Outcome, *, deleted: bool | None = None) -> Outcome:
    journal.write(outcome.step, outcome.person_id, reason=outcome.reason, deleted=deleted)
    log.info("person %d: %s (%s)", outcome.person_id, outcome.step, outcome.reason)
    return outcome


def _count(result: ApplyResult, outcome: Outcome) -> None:
    if outcome.step == j.DONE:
        result.done += 1
    elif outcome.step == j.SKIPPED:
        result.skipped.append(outcome)
    else:
        result.failed.append(outcome)


def short_error(exc: Exception) -> str:
    status = getattr(exc, "status", None)
    return f"{status} {exc}" if status else str(exc)


def write_report(path: Path, states: dict[int, dict[str, Any]], plan: Plan) -> None:
    """Every planned person skipped or failed so far, with the reason (ids only, no names)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["person_id", "outcome", "reason"])
    for pid in plan.ids:
        state = states.get(pid)
        if state and state.get("step") in (j.SKIPPED, j.FAILED):
            writer.writerow([pid, state["step"], state.get("reason", "")])
    j.write_private(path, buffer.getvalue())


# ---------------------------------------------------------------- prune


PURGE_FILE_SUFFIXES = (".backup.jsonl", ".journal.jsonl", ".report.csv", ".torn.jsonl")


def prune_backups(data_dir: Path, retention_days: int, now: float | None = None) -> list[Path]:
    """Remove the purge's backups, journals and reports older than the retention time."""
    directory = data_dir.expanduser()
    if not directory.is_dir():
        return []
    limit = (now if now is not None else time.time()) - retention_days * 86400
    removed: list[Path] = []
    for path in sorted(directory.glob("purge-*")):
        old = path.is_file() and path.stat().st_mtime < limit
        if old and path.name.endswith(PURGE_FILE_SUFFIXES):
            path.unlink()
            removed.append(path)
    return removed
