"""`tasteget doctor --probe`: read-only checks, on the tenant itself, of every assumption the
commands make about SuperOffice (issue 11). One line each: ok, warn or FAIL, and what to change.

Nothing here writes to the tenant: every call is a GET, an archive query with a small `$top`, or
a PATCH whose first operation is a `test` that cannot hold (SuperOffice refuses the whole patch
with 409 and writes nothing; a tenant without PATCH answers 404/405).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

from . import filters as f
from .errors import ApiError, TastegetError
from .i18n import _
from .probe_shapes import query_shapes
from .register import ACTIVITY_COLUMNS, Register, entity_has_emarketing
from .superoffice.values import UNSET, EncodedValueError, decode, parse_datetime
from .workdays import STOCKHOLM

OK, WARN, FAIL = "ok", "warn", "FAIL"
SAMPLE = 150  # persons the semantics are checked on
ENTITY_SAMPLE = 8  # whole PersonEntities read (each is one GET)
MINUTES_AFTER_REGISTRATION = 10  # activities this soon after a registration come from forms
# A PATCH whose test cannot hold: refused as a whole (409) where PATCH exists.
IMPOSSIBLE_TEST = "0001-01-01T00:00:00"


@dataclass(frozen=True)
class Finding:
    name: str
    level: str  # OK, WARN or FAIL
    detail: str


class ProbeSource(Protocol):
    """What the probe needs of the SuperOffice client."""

    def archive_rows(
        self,
        provider: str,
        *,
        select: Sequence[str],
        filter: str | None = None,
        entities: Sequence[str] | None = None,
        top: int,
        order_by: str | None = None,
        post: bool = False,
    ) -> list[dict[str, Any]]: ...

    def get_person(self, person_id: int) -> dict[str, Any]: ...

    def current_principal(self) -> dict[str, Any]: ...

    def patch_person(self, person_id: int, operations: list[dict[str, Any]]) -> dict[str, Any]: ...


@dataclass
class Sample:
    """What the semantic checks look at: the first persons by id, some of their entities and
    their activities."""

    ids: list[int]
    rows: dict[int, dict[str, Any]]
    # Whose activities are asked for: every other sampled person, so that a row of the person
    # next to one (a follow-up both are on) is told apart from the rows asked for.
    asked: list[int] = field(default_factory=list)
    entities: dict[int, dict[str, Any]] = field(default_factory=dict)
    activities: list[dict[str, Any]] = field(default_factory=list)


# ---------------------------------------------------------------- the probe


def run_probe(source: ProbeSource, register: Register) -> list[Finding]:
    """Every check, in order. A check that cannot run says so as a warning, never a traceback."""
    findings: list[Finding] = []
    sample = _sample(source, register, findings)
    if sample is None:
        return findings
    checks: list[Callable[[ProbeSource, Register, Sample], Iterable[Finding]]] = [
        shapes_accepted,
        archive_post,
        region_semantics,
        interests_anded,
        consent_agrees,
        activity_rows_belong,
        udef_values_decode,
        updated_dates_agree,
        activity_date_zone,
        form_logins,
        credentials,
    ]
    for check in checks:
        try:
            findings.extend(check(source, register, sample))
        except TastegetError as exc:
            findings.append(Finding(_(check.__name__.replace("_", " ")), FAIL, str(exc)))
    return findings


def _sample(source: ProbeSource, register: Register, findings: list[Finding]) -> Sample | None:
    try:
        rows = source.archive_rows(
            "Person",
            select=("personId", "personRegisteredDate", "personUpdatedDate"),
            filter=f.gt("personId", 0),
            top=SAMPLE,
            order_by="personId",
        )
    except TastegetError as exc:
        findings.append(
            Finding(_("sample"), FAIL, _("cannot read persons: {error}").format(error=exc))
        )
        return None
    if not rows:
        findings.append(
            Finding(_("sample"), WARN, _("the tenant has no persons: nothing to check"))
        )
        return None
    by_id = {int(r["personId"]): r for r in rows}
    sample = Sample(sorted(by_id), by_id)
    sample.asked = sample.ids[::2][:50]
    for pid in sample.ids[:ENTITY_SAMPLE]:
        sample.entities[pid] = source.get_person(pid)
    kinds = sorted({*register.config.first_response.activity_kinds, "formSubmission"})
    sample.activities = source.archive_rows(
        "PersonActivity",
        select=ACTIVITY_COLUMNS,
        filter=f.one_of("personId", sample.asked),
        entities=kinds,
        top=1000,
    )
    return sample


def shapes_accepted(source: ProbeSource, register: Register, sample: Sample) -> Iterator[Finding]:
    """Each query shape with `$top` 1: SuperOffice answers 400 for a column, operator or entity
    it does not know."""
    refused = []
    shapes = query_shapes(register, sample.ids[0])
    for shape in shapes:
        try:
            source.archive_rows(
                shape.provider,
                select=shape.select,
                filter=shape.filter,
                entities=shape.entities,
                top=1,
            )
        except ApiError as exc:
            refused.append(f"{shape.name} ({exc})")
    if refused:
        yield Finding(
            _("query shapes"),
            FAIL,
            _("refused: {queries}; check the ProgIds and ids in the config").format(
                queries="; ".join(refused)
            ),
        )
    else:
        yield Finding(
            _("query shapes"),
            OK,
            _("all {count} archive queries accepted").format(count=len(shapes)),
        )


def archive_post(source: ProbeSource, register: Register, sample: Sample) -> Iterator[Finding]:
    try:
        source.archive_rows(
            "Person", select=("personId",), filter=f.gt("personId", 0), top=1, post=True
        )
    except ApiError as exc:
        if exc.status in (404, 405):
            yield Finding(
                _("archive POST"),
                WARN,
                _(
                    "not available ({status}): long id lists go as several GET requests "
                    "under 2,000 characters; nothing to change"
                ).format(status=exc.status),
            )
            return
        raise
    yield Finding(_("archive POST"), OK, _("long id lists go in one POST"))


def _ids_among(source: ProbeSource, ids: Sequence[int], condition: str | None) -> set[int]:
    rows = source.archive_rows(
        "Person",
        select=("personId",),
        filter=f.all_of(f.in_("personId", ids), condition),
        top=len(ids) + 1,
    )
    return {int(r["personId"]) for r in rows}


def region_semantics(source: ProbeSource, register: Register, sample: Sample) -> Iterator[Finding]:
    """The region filter (`notOneOf` the municipalities) must give persons with none of them,
    persons with no interests at all included."""
    kommuner = list(register.config.kommuner.values())
    region = _ids_among(source, sample.ids, register.region_filter())
    in_kommun = _ids_among(source, sample.ids, f.one_of("personInterestIds", kommuner))
    if region & in_kommun:
        pid = min(region & in_kommun)
        yield Finding(
            _("region filter"),
            FAIL,
            _(
                "person {id} has a municipality interest but the region filter returns them; "
                "region lists would show municipality contacts"
            ).format(id=pid),
        )
        return
    missing = set(sample.ids) - region - in_kommun
    if missing:
        yield Finding(
            _("region filter"),
            FAIL,
            _(
                "{count} of {sampled} sampled persons with no municipality (e.g. {id}, "
                "probably with no interests at all) are not returned by personInterestIds "
                "notOneOf: the region's lists and reports leave them out"
            ).format(count=len(missing), sampled=len(sample.ids), id=min(missing)),
        )
        return
    yield Finding(
        _("region filter"),
        OK,
        _(
            "{count} of {sampled} sampled persons belong to the region, persons without "
            "interests included"
        ).format(count=len(region), sampled=len(sample.ids)),
    )


def interests_anded(source: ProbeSource, register: Register, sample: Sample) -> Iterator[Finding]:
    """Two restrictions on personInterestIds must be an AND (status list per municipality and
    memberships narrow one by the other)."""
    kommuner = list(register.config.kommuner.values())
    first, *others = kommuner
    a = f.one_of("personInterestIds", [first])
    b = f.one_of("personInterestIds", others or [first])
    only_a = _ids_among(source, sample.ids, a)
    only_b = _ids_among(source, sample.ids, b)
    both = _ids_among(source, sample.ids, f.all_of(a, b))
    if only_a == only_b:
        yield Finding(
            _("two interest restrictions"),
            WARN,
            _("the sample cannot tell AND from OR (no person in one municipality only)"),
        )
    elif both == only_a & only_b:
        yield Finding(_("two interest restrictions"), OK, _("ANDed, as the commands assume"))
    else:
        yield Finding(
            _("two interest restrictions"),
            FAIL,
            _(
                "two restrictions on personInterestIds are not ANDed ({found} found, "
                "{expected} expected): municipality memberships and status lists would be wrong"
            ).format(found=len(both), expected=len(only_a & only_b)),
        )


def consent_agrees(source: ProbeSource, register: Register, sample: Sample) -> Iterator[Finding]:
    consent = f.all_of(
        f.is_set("hasEmarketingConsent", True), f.is_set("withdrawnEmarketingConsent", False)
    )
    ids = sorted(sample.entities)
    subscribed = _ids_among(source, ids, consent)
    wrong = [
        pid for pid in ids if entity_has_emarketing(sample.entities[pid]) != (pid in subscribed)
    ]
    if wrong:
        yield Finding(
            _("consent restriction"),
            FAIL,
            _(
                "the archive's e-marketing consent disagrees with person {id}'s Consents: the "
                "purge could delete a subscriber; set [purge] newsletter_interest as well"
            ).format(id=wrong[0]),
        )
    else:
        yield Finding(
            _("consent restriction"),
            OK,
            _("agrees with the Consents of {count} persons read").format(count=len(ids)),
        )


def activity_rows_belong(
    source: ProbeSource, register: Register, sample: Sample
) -> Iterator[Finding]:
    asked = set(sample.asked)
    foreign = {
        int(r["person/personId"])
        for r in sample.activities
        if r.get("person/personId") not in (None, "") and int(r["person/personId"]) not in asked
    }
    if foreign:
        yield Finding(
            _("activity rows"),
            FAIL,
            _(
                "PersonActivity for persons {first}-{last} also answers rows of {count} other "
                "persons (invited participants?); the tool drops them, so a person invited to a "
                "follow-up is not credited with it (the purge may list them)"
            ).format(first=min(asked), last=max(asked), count=len(foreign)),
        )
    else:
        yield Finding(_("activity rows"), OK, _("every row belongs to a person asked for"))


def udef_values_decode(
    source: ProbeSource, register: Register, sample: Sample
) -> Iterator[Finding]:
    ms, pc = register.config.move_status, register.config.preferred_contact
    fields = {
        "move_status.field": (ms.field, "list"),
        "move_status.moved_to_field": (ms.moved_to_field, "list"),
        "move_status.move_date_field": (ms.move_date_field, "date"),
        "preferred_contact.field": (pc.field, "list"),
    }
    for key, (prog_id, kind) in fields.items():
        if not prog_id:
            continue
        problem = _undecodable(sample.entities.values(), prog_id, kind)
        name = _("values of {key}").format(key=key)
        if problem:
            detail = _("{field}: {problem}; check the field's type")
            yield Finding(name, FAIL, detail.format(field=prog_id, problem=problem))
        else:
            detail = _("{field} decodes in every entity read")
            yield Finding(name, OK, detail.format(field=prog_id))


def _undecodable(entities: Iterable[Mapping[str, Any]], prog_id: str, kind: str) -> str | None:
    for entity in entities:
        fields = entity.get("CustomFields") or {}
        if prog_id not in fields:
            return _("missing from person {id}'s CustomFields").format(id=entity.get("PersonId"))
        try:
            value = decode(fields[prog_id])
        except EncodedValueError as exc:
            return str(exc)
        if kind == "list" and not (isinstance(value, int) or value is UNSET):
            return _("{value!r} is not a list item").format(value=fields[prog_id])
        if kind == "date" and not (isinstance(value, date) or value is UNSET):
            return _("{value!r} is not a date").format(value=fields[prog_id])
    return None


def updated_dates_agree(
    source: ProbeSource, register: Register, sample: Sample
) -> Iterator[Finding]:
    """The purge plan keeps the archive's personUpdatedDate and compares it with the entity's
    UpdatedDate to the second before deleting."""
    for pid, entity in sample.entities.items():
        archive = parse_datetime(sample.rows[pid].get("personUpdatedDate"))
        own = parse_datetime(entity.get("UpdatedDate"))
        if archive is None or own is None:
            continue
        if archive.replace(microsecond=0) != own.replace(microsecond=0):
            yield Finding(
                _("updated dates"),
                FAIL,
                _(
                    "person {id}: the archive says {archive}, the entity {entity}: purge apply "
                    "would skip everyone as changed since the plan"
                ).format(
                    id=pid,
                    archive=sample.rows[pid].get("personUpdatedDate"),
                    entity=entity.get("UpdatedDate"),
                ),
            )
            return
    yield Finding(
        _("updated dates"),
        OK,
        _("archive and entity agree to the second for {count} persons").format(
            count=len(sample.entities)
        ),
    )


def activity_date_zone(
    source: ProbeSource, register: Register, sample: Sample
) -> Iterator[Finding]:
    """Documents and form submissions are dated when they are registered: their `date` minus
    their `registeredDate` (UTC) shows the zone of `date`."""
    same = local = 0
    for row in sample.activities:
        dated = parse_datetime(row.get("date"))
        registered = parse_datetime(row.get("registeredDate"))
        if dated is None or registered is None:
            continue
        offset = registered.astimezone(STOCKHOLM).utcoffset() or timedelta()
        gap = dated - registered
        if abs(gap) < timedelta(minutes=1):
            same += 1
        elif offset and abs(gap - offset) < timedelta(minutes=1):
            local += 1
    if local > same:
        yield Finding(
            _("activity date zone"),
            FAIL,
            _(
                "the activity date column is local time ({count} rows dated the Stockholm "
                "offset after their registration): first responses and last activities shift "
                "by 1-2 hours"
            ).format(count=local),
        )
    elif same:
        yield Finding(
            _("activity date zone"),
            OK,
            _("UTC, like registeredDate ({count} rows)").format(count=same),
        )
    else:
        yield Finding(_("activity date zone"), WARN, _("no activity in the sample tells the zone"))


def form_logins(source: ProbeSource, register: Register, sample: Sample) -> Iterator[Finding]:
    """Who registers activities within minutes of a person's registration: forms and
    integrations, the candidates for `ignore_registered_by`."""
    soon: Counter[str] = Counter()
    seen: set[str] = set()
    for row in sample.activities:
        login = str(row.get("registeredBy") or "")
        seen.update({login.casefold(), str(row.get("registeredByFullName") or "").casefold()})
        pid = row.get("person/personId")
        person = sample.rows.get(int(pid)) if pid not in (None, "") else None
        registered = parse_datetime(row.get("registeredDate"))
        person_registered = parse_datetime((person or {}).get("personRegisteredDate"))
        if registered and person_registered and login:
            gap = registered - person_registered
            if timedelta(0) <= gap <= timedelta(minutes=MINUTES_AFTER_REGISTRATION):
                soon[login] += 1
    ranked = ", ".join(f"{login} ({n})" for login, n in soon.most_common(5)) or _("none")
    configured = register.config.first_response.ignore_registered_by
    if not configured:
        yield Finding(
            "ignore_registered_by",
            WARN,
            _(
                "empty: an automatic reply counts as a first response. Logins registering "
                "activities within {minutes} minutes of a registration: {ranked}; set "
                "[first_response] ignore_registered_by"
            ).format(minutes=MINUTES_AFTER_REGISTRATION, ranked=ranked),
        )
        return
    unused = [name for name in configured if name.casefold() not in seen]
    if unused:
        yield Finding(
            "ignore_registered_by",
            WARN,
            _("{logins} registered no activity in the sample; candidates: {ranked}").format(
                logins=", ".join(unused), ranked=ranked
            ),
        )
    else:
        yield Finding(
            "ignore_registered_by",
            OK,
            _("in use; candidates seen: {ranked}").format(ranked=ranked),
        )


def credentials(source: ProbeSource, register: Register, sample: Sample) -> Iterator[Finding]:
    who = source.current_principal()
    name = who.get("FullName") or who.get("UserName") or "?"
    yield Finding(
        _("read right"),
        OK,
        _("{name} (associate {id}) may read persons").format(
            name=name, id=who.get("AssociateId", "?")
        ),
    )
    pid = sample.ids[0]
    mask = str((sample.entities[pid].get("TableRight") or {}).get("Mask") or "")
    rights = {part.strip().casefold() for part in mask.replace("|", ",").split(",")}
    full = "fullaccess" in rights
    for right, title, needed_by in (
        ("update", _("update right"), "status set/import"),
        ("delete", _("delete right"), "purge apply"),
    ):
        if full or right in rights:
            detail = _("persons may be changed ({commands})").format(commands=needed_by)
            yield Finding(title, OK, detail)
        elif mask:
            detail = _("TableRight {mask!r}: {commands} will fail")
            yield Finding(title, WARN, detail.format(mask=mask, commands=needed_by))
        else:
            yield Finding(title, WARN, _("the entity says nothing of its rights"))
    yield from _patch_available(source, pid)


def _patch_available(source: ProbeSource, pid: int) -> Iterator[Finding]:
    impossible = [{"op": "test", "path": "UpdatedDate", "value": IMPOSSIBLE_TEST}]
    try:
        source.patch_person(pid, impossible)
    except ApiError as exc:
        if exc.status in (409, 412):
            yield Finding("PATCH", OK, _("available (a failing test was refused, nothing written)"))
            return
        if exc.status in (404, 405):
            yield Finding(
                "PATCH",
                FAIL,
                _('not available ({status}): set [superoffice] person_update = "put"').format(
                    status=exc.status
                ),
            )
            return
        raise
    yield Finding("PATCH", FAIL, _("a PATCH whose test cannot hold was accepted: do not write"))


def probe_exit_code(findings: Sequence[Finding]) -> int:
    return 1 if any(x.level == FAIL for x in findings) else 0
