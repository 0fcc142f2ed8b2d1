"""What the weekly mail says: the wording (Swedish, English), the overdue and due-soon
sections, what each level of `[notify] details` shows, and the list as plain text, HTML and CSV.
`mail` puts the parts together and delivers them.
"""

from __future__ import annotations

import csv
import html
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from .i18n import translations
from .models import OverdueItem
from .output import csv_safe
from .workdays import weekday_date

REGION = "region"


# ---------------------------------------------------------------- wording

GUIDE_PREFIX = "guide:"  # the key of a responsible guide's own list: "guide:Elin Nyberg"


@dataclass(frozen=True)
class Older:
    """Unanswered registrations before `since` that the list leaves out, and how to see them."""

    count: int
    since: date
    earliest: date | None


@dataclass(frozen=True)
class _Words:
    subject: str  # {count} {people} {place} {week}
    person: str
    persons: str
    region: str
    # (one person, several): English verbs agree with the count.
    intro: tuple[str, str]  # {count_text} {place} {as_of}
    region_intro: tuple[str, str]  # {count_text} {as_of}
    guide_intro: tuple[str, str]  # {count_text} {place} {as_of}
    nobody: str
    overdue_section: str  # {n}
    due_soon_section: str  # {n}
    older: tuple[str, str]  # {n} {since} {earliest} {command}
    closing: str
    labels: dict[str, str]
    late: tuple[str, str]  # {n} working days late
    today: str
    contact: dict[str, str]
    no_number: str
    status: dict[str, str]
    attachment: str  # {slug} {as_of}
    person_id: str  # {id}: the name of a person in a minimal mail


# What each level of [notify] details shows, in order. The least that lets a guide act is the
# id and the link (the card in SuperOffice holds the rest, behind its own access control).
_FIELDS = {
    "minimal": ("kommuner", "due", "link"),
    "names": ("kommuner", "registered", "due", "link"),
    "full": ("kommuner", "registered", "due", "preferred", "phone", "email", "our_contact", "link"),
}
_CSV_FIELDS = {
    "minimal": ("person_id", "link", "kommuner", "due", "late", "status"),
    "names": ("person_id", "name", "link", "kommuner", "registered", "due", "late", "status"),
    "full": (
        "person_id", "name", "link", "kommuner", "registered", "due", "late", "status",
        "preferred", "phone", "email", "our_contact",
    ),
}  # fmt: skip


def words_for(lang: str) -> _Words:
    """The mail's wording in `lang`, from the gettext catalogue (English: the message ids). The
    mail's language is the run's (`--lang`, `[ui] lang`), passed in rather than read globally."""
    catalogue = translations(lang)
    _ = catalogue.gettext

    def nforms(singular: str, plural: str) -> tuple[str, str]:
        """(one, several), each agreeing with its count (i18n_tools extracts `nforms`)."""
        return catalogue.ngettext(singular, plural, 1), catalogue.ngettext(singular, plural, 2)

    return _Words(
        subject=_(
            "Ta steget: {count} {people} waiting for a first contact – {place} (week {week})"
        ),
        person=_("person"),
        persons=_("people"),
        region=_("The region (no municipality chosen)"),  # terms.region_name's wording
        intro=nforms(
            "{count_text} who wants to move to {place} is waiting for a first contact from a "
            "move guide. The list is as of {as_of}.",
            "{count_text} who want to move to {place} are waiting for a first contact from a "
            "move guide. The list is as of {as_of}.",
        ),
        region_intro=nforms(
            "{count_text} who has chosen no municipality is waiting for a first contact from "
            "the region. The list is as of {as_of}.",
            "{count_text} who have chosen no municipality are waiting for a first contact from "
            "the region. The list is as of {as_of}.",
        ),
        guide_intro=nforms(
            "{count_text} whose contact is {place} is waiting for a first contact. "
            "The list is as of {as_of}.",
            "{count_text} whose contact is {place} are waiting for a first contact. "
            "The list is as of {as_of}.",
        ),
        nobody=_("Nobody is waiting for a first contact. The list is as of {as_of}."),
        overdue_section=_("Overdue ({n})"),
        due_soon_section=_("Due soon – answer by ({n})"),
        older=nforms(
            "Also waiting: {n} person registered before {since} (the first on {earliest}). "
            "List them with: {command}",
            "Also waiting: {n} people registered before {since} (the first on {earliest}). "
            "List them with: {command}",
        ),
        closing=_(
            "Once you have contacted a person, register the contact as an activity in "
            "SuperOffice and the person leaves the list. The list is also attached as a CSV "
            "file.\n\nThis message is sent automatically by tasteget every week."
        ),
        labels={
            "person_id": _("Person id"),
            "name": _("Name"),
            "kommuner": _("Municipalities"),
            "registered": _("Registered"),
            "due": _("Answer by"),
            "late": _("Working days late"),
            "preferred": _("Preferred contact"),
            "phone": _("Phone"),
            "email": _("E-mail"),
            "our_contact": _("Our contact"),
            "link": _("Open in SuperOffice"),
            "status": _("Status"),
        },
        late=nforms("{n} working day late", "{n} working days late"),
        today=_("today"),
        contact={"phone": _("phone"), "email": _("e-mail")},
        no_number=_("phone (no number)"),
        status={"overdue": _("overdue"), "due_soon": _("due soon")},
        attachment="ta-steget-{slug}-{as_of}.csv",
        person_id=_("Person {id}"),
    )


def _place(key: str, words: _Words) -> str:
    if key.startswith(GUIDE_PREFIX):
        return key[len(GUIDE_PREFIX) :]
    return words.region if key == REGION else key


def _count_text(count: int, words: _Words) -> str:
    return f"{count} {words.person if count == 1 else words.persons}"


def subject_for(key: str, count: int, as_of: date, lang: str = "sv") -> str:
    """The subject: municipality, count and ISO week; never a person's data."""
    words = words_for(lang)
    return words.subject.format(
        count=count,
        people=words.person if count == 1 else words.persons,
        place=_place(key, words),
        week=as_of.isocalendar().week,
    )


# ---------------------------------------------------------------- the list, three ways


def _agree(forms: tuple[str, str], count: int) -> str:
    return forms[0] if count == 1 else forms[1]


def _due_text(item: OverdueItem, words: _Words, lang: str) -> str:
    """'måndag 16 mars (2 arbetsdagar sen)', or for a due-soon person 'idag, onsdag 18 mars':
    people never read a negative number."""
    day = weekday_date(item.due, lang)
    if item.status == "due_soon":
        return f"{words.today}, {day}" if item.working_days_overdue == 0 else day
    late = _agree(words.late, item.working_days_overdue).format(n=item.working_days_overdue)
    return f"{day} ({late})"


def _preferred_text(item: OverdueItem, words: _Words) -> str:
    """The channel the person asked for; 'telefon' without a number says so."""
    if item.preferred_contact == "phone" and not item.phone:
        return words.no_number
    return words.contact.get(item.preferred_contact or "", item.preferred_contact or "")


def _value(item: OverdueItem, field: str, words: _Words, lang: str) -> str:
    """One field of a person as people read it."""
    if field == "kommuner":
        return ", ".join(item.kommuner)
    if field == "registered":
        return item.registered.isoformat()
    if field == "due":
        return _due_text(item, words, lang)
    if field == "preferred":
        return _preferred_text(item, words)
    if field == "status":
        return words.status.get(item.status, item.status)
    if field == "late":
        return str(item.working_days_overdue) if item.status == "overdue" else ""
    if field == "person_id":
        return str(item.person_id)
    value = getattr(item, field)
    return "" if value is None else str(value)


def _title(item: OverdueItem, details: str, words: _Words) -> str:
    """Who the block is about: the name and id, or only the id in a minimal mail."""
    who = words.person_id.format(id=item.person_id)
    return who if details == "minimal" else f"{item.name} ({who.lower()})"


def _sections(items: Sequence[OverdueItem]) -> list[tuple[str, list[OverdueItem]]]:
    overdue = [i for i in items if i.status != "due_soon"]
    due_soon = [i for i in items if i.status == "due_soon"]
    return [(name, part) for name, part in (("overdue", overdue), ("due_soon", due_soon)) if part]


def _section_heading(name: str, count: int, words: _Words) -> str:
    template = words.overdue_section if name == "overdue" else words.due_soon_section
    return template.format(n=count)


def _summary(
    key: str, items: Sequence[OverdueItem], as_of: date, words: _Words, older: Older | None
) -> list[str]:
    """The paragraphs above the list."""
    if not items:
        lines = [words.nobody.format(as_of=as_of.isoformat())]
    else:
        count_text = _count_text(len(items), words)
        if key.startswith(GUIDE_PREFIX):
            template = _agree(words.guide_intro, len(items))
        else:
            template = _agree(words.region_intro if key == REGION else words.intro, len(items))
        place = _place(key, words)
        lines = [template.format(count_text=count_text, place=place, as_of=as_of.isoformat())]
    if older is not None and older.count and older.earliest is not None:
        lines.append(
            _agree(words.older, older.count).format(
                n=older.count,
                since=older.since.isoformat(),
                earliest=older.earliest.isoformat(),
                command=_list_command(key, older.earliest),
            )
        )
    return lines


def _list_command(key: str, since: date) -> str:
    """The command that lists what the mail leaves out."""
    if key == REGION:
        scope = "--region"
    elif key.startswith(GUIDE_PREFIX):
        scope = f'--our-contact "{key[len(GUIDE_PREFIX) :]}"'
    else:
        scope = f"--kommun {key}"
    return f"tasteget overdue {scope} --since {since.isoformat()}"


def plain_text(
    key: str,
    items: Sequence[OverdueItem],
    as_of: date,
    words: _Words,
    lang: str,
    details: str,
    older: Older | None,
) -> str:
    # A labelled block per person reads well in any mail client, with any name length.
    parts = ["\n".join(_summary(key, items, as_of, words, older))]
    for name, section in _sections(items):
        heading = _section_heading(name, len(section), words)
        parts.append(f"{heading}\n{'-' * len(heading)}")
        for item in section:
            block = [_title(item, details, words)]
            for field in _FIELDS[details]:
                value = _value(item, field, words, lang)
                if value:
                    block.append(f"  {words.labels[field]}: {value}")
            parts.append("\n".join(block))
    parts.append(words.closing)
    return "\n\n".join(parts) + "\n"


def _html_table(items: Sequence[OverdueItem], words: _Words, lang: str, details: str) -> str:
    esc = html.escape  # every value from the register goes through this: names hold < & "
    fields = [f for f in _FIELDS[details] if f != "link"]
    first = words.labels["person_id"] if details == "minimal" else words.labels["name"]
    head = "".join(f"<th>{esc(h)}</th>" for h in (first, *(words.labels[f] for f in fields)))
    rows = []
    for item in items:
        who = str(item.person_id) if details == "minimal" else item.name
        cell = esc(who)
        if item.link:
            cell = f'<a href="{esc(item.link, quote=True)}">{cell}</a>'
        cells = "".join(f"<td>{esc(_value(item, f, words, lang))}</td>" for f in fields)
        rows.append(f"<tr><td>{cell}</td>{cells}</tr>")
    return (
        '<table border="1" cellpadding="4" cellspacing="0" style="border-collapse:collapse">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def html_part(
    key: str,
    items: Sequence[OverdueItem],
    as_of: date,
    lang: str,
    words: _Words,
    details: str,
    older: Older | None,
) -> str:
    esc = html.escape
    summary = _summary(key, items, as_of, words, older)
    paragraphs = "".join(f"<p>{esc(p)}</p>" for p in summary)
    closing = "".join(f"<p>{esc(p)}</p>" for p in words.closing.split("\n\n"))
    sections = "".join(
        f"<h2>{esc(_section_heading(name, len(part), words))}</h2>"
        + _html_table(part, words, lang, details)
        for name, part in _sections(items)
    )
    title = esc(subject_for(key, len(items), as_of, lang))
    return (
        f'<!DOCTYPE html><html lang="{esc(lang)}"><head><meta charset="utf-8">'
        f"<title>{title}</title></head><body>{paragraphs}{sections}{closing}</body></html>\n"
    )


def csv_part(items: Sequence[OverdueItem], words: _Words, lang: str, details: str) -> bytes:
    """The list for Excel: UTF-8 with BOM and semicolons, as Swedish Excel expects."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    fields = _CSV_FIELDS[details]
    writer.writerow([words.labels[f] for f in fields])
    for item in items:
        row = []
        for field in fields:
            value = item.due.isoformat() if field == "due" else _value(item, field, words, lang)
            # Our own numbers stay numbers; register text is made inert for spreadsheets.
            row.append(value if field in ("person_id", "late") else csv_safe(value))
        writer.writerow(row)
    return buffer.getvalue().encode("utf-8-sig")


def slug(key: str) -> str:
    """An ASCII file-name part: Östersund -> ostersund, Åre -> are."""
    decomposed = unicodedata.normalize("NFKD", key)
    ascii_text = decomposed.encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-") or "list"
