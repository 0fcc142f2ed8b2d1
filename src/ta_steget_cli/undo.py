"""Undoing a purge: bring back, from SuperOffice's recycle bin, everyone a purge's journal
deleted or may have deleted, in the tenant that deleted them."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from . import journal as j
from .errors import ApiError, AuthError, NotFound, TenantUnavailable, TransientError, UsageError
from .i18n import _
from .parallel import in_order
from .purge import Outcome, PersonClient, Progress, short_error


@dataclass
class UndoResult:
    journal: Path
    restored: list[int] = field(default_factory=list)
    present: list[int] = field(default_factory=list)  # in the register already: nothing to do
    failed: list[Outcome] = field(default_factory=list)
    stopped: str | None = None
    repaired: list[Path] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.stopped:
            return "error"
        return "partial" if self.failed else "success"


def journal_refusal(history: j.History, tenant: str, other_tenant: bool) -> str | None:
    """Why this journal must not be undone here (one line), or None: the same rule as for plans.

    Ids are per tenant: undoing another tenant's journal would bring back this tenant's
    persons who happen to have the same ids, and mark the other tenant's entries done."""
    if not history.tenants:
        return _("not a purge journal (it records no purge run)")
    others = [t for t in history.tenants if t != tenant]
    if others and not other_tenant:
        return _(
            "the journal is of a purge in tenant {other}, not {tenant}; "
            "pass --allow-other-tenant if that is really meant"
        ).format(other=others[0], tenant=tenant)
    return None


def to_undo(history: j.History, tenant: str) -> list[int]:
    """Persons the journal's purge deleted or may have deleted, not yet brought back *in this
    tenant* (an undo in another tenant, allowed by override, does not count here)."""
    journal_tenant = history.tenants[0] if history.tenants else tenant
    out = history.maybe_gone()
    for pid, state in history.states.items():
        undone_in = state.get("tenant", journal_tenant)
        if state.get("step") == j.UNDONE and undone_in != tenant and pid in history.maybe_deleted:
            out.append(pid)
    return out


def undo_journal(
    client: PersonClient,
    path: Path,
    *,
    other_tenant: bool = False,
    progress: Progress | None = None,
    workers: int = 1,
    step: Callable[[], AbstractContextManager[object]] = nullcontext,
) -> UndoResult:
    """Bring back every person the journal's purge deleted, while the recycle bin holds them.

    An entry is marked undone only on this tenant's own answer: the Undelete's, or a read
    showing the person in the register after an Undelete whose answer was an error. `step()`
    wraps each person, as in `purge.apply_plan`: a stop or the command's deadline goes on
    between persons, never between an Undelete and the read that settles it."""
    tenant = client.tenant_id
    refusal = journal_refusal(j.journal_history(path), tenant, other_tenant)
    if refusal:
        raise UsageError(_("--undo {path}: refused: {reason}").format(path=path, reason=refusal))
    result = UndoResult(journal=path)
    with j.Journal(path) as journal:
        result.repaired = [journal.repaired] if journal.repaired else []
        ids = to_undo(j.journal_history(path), tenant)
        journal.write("undo_start", tenant=tenant, pending=len(ids))

        def one(pid: int) -> Outcome:
            # Journaled on the worker as soon as it is known, as a purge's steps are: a stop
            # that ends the run before this answer's turn to be counted still leaves its line.
            with step():
                outcome = undo_one(client, pid)
                journal.write(outcome.step, pid, reason=outcome.reason, tenant=tenant)
            return outcome

        try:
            # Independent persons, several at once.
            for n, outcome in enumerate(in_order(one, ids, workers), 1):
                pid = outcome.person_id
                if outcome.step == j.UNDO_FAILED:
                    result.failed.append(outcome)
                elif outcome.reason == RESTORED:
                    result.restored.append(pid)
                else:
                    result.present.append(pid)
                if progress is not None:
                    progress(n, len(ids), outcome)
        except (TransientError, TenantUnavailable, AuthError) as exc:
            result.stopped = str(exc)
            journal.write("undo_stopped", reason=type(exc).__name__)
    return result


RESTORED = "restored"


def undo_one(client: PersonClient, pid: int) -> Outcome:
    """Undelete one person; after an error answer, read the register to tell what happened."""
    try:
        client.undelete_person(pid)
    except (TransientError, TenantUnavailable, AuthError):
        raise
    except ApiError as exc:
        return settle_undo(client, pid, exc)
    return Outcome(pid, j.UNDONE, RESTORED)


def settle_undo(client: PersonClient, pid: int, exc: ApiError) -> Outcome:
    """The Undelete answered an error. Its answer may have been lost after it took effect (the
    retry then finds nothing in the recycle bin), or the delete never happened (a 500 before
    the commit): a person in the register is back either way."""
    try:
        client.get_person(pid)
    except (TransientError, TenantUnavailable, AuthError):
        raise
    except ApiError:
        return Outcome(pid, j.UNDO_FAILED, _undo_reason(exc))
    if isinstance(exc, NotFound):
        return Outcome(pid, j.UNDONE, "in the register (brought back earlier, or never deleted)")
    return Outcome(pid, j.UNDONE, RESTORED)


def _undo_reason(exc: ApiError) -> str:
    if isinstance(exc, NotFound):
        return "not in the recycle bin any more"
    return f"undelete failed: {short_error(exc)}"
