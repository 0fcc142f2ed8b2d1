"""The archive providers' columns and a strict `$filter` compiler.

A filter is parsed once per request into a Python predicate over stored records. Anything the
contract does not allow (an unknown column, an operator the column's type does not take, a
malformed literal) raises `QueryError`, which the API answers with 400 like SuperOffice.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import reduce
from operator import attrgetter
from typing import Any

from . import ids
from .realism import Realism
from .records import NEVER, USERS, Activity, Person, day_number, iso

DAY = 86_400
Predicate = Callable[[Any], bool]

OPERATORS: dict[str, tuple[str, ...]] = {
    "int": ("eq", "ne", "gt", "lt", "in"),
    "list": ("oneOf", "notOneOf", "equals"),
    "multilist": ("oneOf", "notOneOf", "equals"),
    "datetime": ("before", "after", "between", "afterTime", "beforeTime"),
    "date": ("before", "after", "between"),
    "bool": ("set",),
    "string": (),
}


class QueryError(ValueError):
    """The query is not one SuperOffice would accept (answered with 400)."""


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str
    raw: Callable[[Any], Any]  # the value filters compare (ids, seconds, day numbers)
    show: Callable[[Any], Any] | None  # the Slim value; None: filter only

    def sort_key(self) -> Callable[[Any], Any]:
        value = self.show if self.type == "list" and self.show else self.raw

        def key(row: Any) -> tuple[bool, Any]:
            found = value(row)
            return (found is not None, found if found is not None else 0)

        return key


# ---------------------------------------------------------------- columns


def _name(table: dict[int, str], getter: Callable[[Any], int | None]) -> Callable[[Any], str]:
    return lambda row: table.get(getter(row) or 0, "")


def _user_name(associate: int | None) -> str:
    user = USERS.get(associate or 0)
    return user[2] if user else ""


def _text(getter: Callable[[Any], str | None]) -> Callable[[Any], str]:
    return lambda row: getter(row) or ""


def _date_udef(person: Person) -> int | None:
    return day_number(person.move_date) if person.move_date else None


def _show_date_udef(person: Person) -> str:
    return person.move_date.strftime("%Y-%m-%dT00:00:00") if person.move_date else NEVER


MOVED_TO_NAMES = {item: name for name, item in ids.MOVED_TO_VALUES.items()}


def _person_columns() -> dict[str, Column]:
    status = attrgetter("status")
    moved_to = attrgetter("moved_to")
    preferred = attrgetter("preferred")
    columns = [
        Column("personId", "int", attrgetter("id"), attrgetter("id")),
        Column("fullName", "string", attrgetter("full_name"), attrgetter("full_name")),
        Column("firstName", "string", attrgetter("first"), attrgetter("first")),
        Column("lastName", "string", attrgetter("last"), attrgetter("last")),
        Column("personRegisteredDate", "datetime", attrgetter("registered"), _iso("registered")),
        Column("personUpdatedDate", "datetime", attrgetter("updated"), _iso("updated")),
        Column("email/emailAddress", "string", attrgetter("email"), _text(attrgetter("email"))),
        Column(
            "personMobilePhone/formattedNumber",
            "string",
            attrgetter("mobile"),
            _text(attrgetter("mobile")),
        ),
        Column("phone/formattedNumber", "string", attrgetter("phone"), _text(attrgetter("phone"))),
        Column("createdByForm", "list", attrgetter("form"), _name(ids.FORMS, attrgetter("form"))),
        Column(
            "personAssociateId",
            "list",
            attrgetter("associate"),
            lambda p: _user_name(p.associate),
        ),
        Column("personInterestIds", "multilist", attrgetter("interests"), None),
        Column(
            f"personUdef/{ids.MOVE_STATUS_FIELD}",
            "list",
            status,
            _name(ids.MOVE_STATUS_NAMES, status),
        ),
        Column(
            f"personUdef/{ids.MOVED_TO_FIELD}", "list", moved_to, _name(MOVED_TO_NAMES, moved_to)
        ),
        Column(f"personUdef/{ids.MOVE_DATE_FIELD}", "date", _date_udef, _show_date_udef),
        Column(
            f"personUdef/{ids.PREFERRED_CONTACT_FIELD}",
            "list",
            preferred,
            _name(ids.PREFERRED_CONTACT_NAMES, preferred),
        ),
        Column("hasEmarketingConsent", "bool", _consent("active"), _consent("active")),
        Column("withdrawnEmarketingConsent", "bool", _consent("withdrawn"), _consent("withdrawn")),
        Column("personNoMail", "bool", attrgetter("no_mail"), attrgetter("no_mail")),
    ]
    return {c.name: c for c in columns}


def _iso(attribute: str) -> Callable[[Any], str]:
    getter = attrgetter(attribute)
    return lambda row: iso(getter(row))


def _consent(state: str) -> Callable[[Person], bool]:
    return lambda p: p.consent == state


ACTIVITY_TYPES: dict[str, tuple[str, ...]] = {
    "appointment": ("Möte", "Telefonsamtal"),
    "document": ("E-post", "Brev"),
    "chat": ("Chatt",),
    "formSubmission": ("Formulärsvar",),
    "mailing": ("Nyhetsbrev",),
}


def activity_type(activity: Activity) -> str:
    names = ACTIVITY_TYPES[activity.kind]
    return names[activity.id % len(names)]


def _own_id(kind: str) -> Callable[[Activity], int]:
    return lambda a: a.id if a.kind == kind else 0


def _activity_columns() -> dict[str, Column]:
    person_id = attrgetter("person.id")
    associate = lambda a: a.user[0]  # noqa: E731
    columns = [
        # A restriction on personId matches the row's guest (its own person, or a participant
        # invited to it); the Slim value is the guest's name.
        Column("personId", "list", attrgetter("guest.id"), attrgetter("guest.full_name")),
        Column("person/personId", "int", person_id, person_id),
        Column("date", "datetime", attrgetter("date"), _iso("date")),
        Column("registeredDate", "datetime", attrgetter("registered"), _iso("registered")),
        Column("registeredBy", "string", lambda a: a.user[1], lambda a: a.user[1]),
        Column("registeredByFullName", "string", lambda a: a.user[2], lambda a: a.user[2]),
        Column("associateId", "list", associate, lambda a: a.user[2]),
        Column("type", "string", activity_type, activity_type),
        Column("recordType", "string", attrgetter("kind"), attrgetter("kind")),
        Column("completed", "bool", attrgetter("completed"), attrgetter("completed")),
        Column("appointmentId", "int", _own_id("appointment"), _own_id("appointment")),
        Column("documentId", "int", _own_id("document"), _own_id("document")),
        Column("chatSessionId", "int", _own_id("chat"), _own_id("chat")),
        Column("formSubmissionId", "int", _own_id("formSubmission"), _own_id("formSubmission")),
    ]
    return {c.name: c for c in columns}


PERSON_COLUMNS = _person_columns()
ACTIVITY_COLUMNS = _activity_columns()
PROVIDERS: dict[str, dict[str, Column]] = {
    "Person": PERSON_COLUMNS,
    "PersonActivity": ACTIVITY_COLUMNS,
}


DEFAULT_SELECT = {
    "Person": ("personId", "fullName"),
    "PersonActivity": ("person/personId", "date", "type"),
}


# ---------------------------------------------------------------- tokens

_TOKEN = re.compile(
    r"\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<comma>,)|(?P<quote>')"
    r"|(?P<num>-?\d+)(?![\w/])|(?P<word>[A-Za-z][A-Za-z0-9_]*(?:/[A-Za-z0-9_:.]+)?))"
)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # lp rp comma str num word end
    text: str
    at: int


def tokens(text: str) -> list[Token]:
    out: list[Token] = []
    at = 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            out.append(Token("end", "", at))
            return out
        match = _TOKEN.match(text, at)
        if not match or not match.lastgroup:
            raise QueryError(f"Unexpected character {text[at]!r} at position {at} in $filter")
        if match.lastgroup == "quote":
            literal, at = _string(text, match.end())
            out.append(Token("str", literal, match.start("quote")))
            continue
        out.append(
            Token(match.lastgroup, match.group(match.lastgroup), match.start(match.lastgroup))
        )
        at = match.end()


def _string(text: str, at: int) -> tuple[str, int]:
    """A quoted literal starting after its opening quote; `\\'` and `\\\\` are the escapes."""
    chars: list[str] = []
    while at < len(text):
        char = text[at]
        if char == "'":
            return "".join(chars), at + 1
        if char == "\\":
            following = text[at + 1 : at + 2]
            if following not in ("'", "\\"):
                raise QueryError(f"Invalid escape \\{following} at position {at} in $filter")
            chars.append(following)
            at += 2
            continue
        chars.append(char)
        at += 1
    raise QueryError("Unterminated string literal in $filter")


# ---------------------------------------------------------------- parse tree


@dataclass(frozen=True, slots=True)
class Comparison:
    column: Column
    operator: str
    value: Any


@dataclass(frozen=True, slots=True)
class Junction:
    kind: str  # "and" | "or"
    parts: tuple[Node, ...]


Node = Comparison | Junction


class _Parser:
    def __init__(self, text: str, columns: dict[str, Column]) -> None:
        self.tokens = tokens(text)
        self.at = 0
        self.columns = columns

    def peek(self) -> Token:
        return self.tokens[self.at]

    def take(self, kind: str, what: str) -> Token:
        token = self.peek()
        if token.kind != kind:
            shown = repr(token.text) if token.kind != "end" else "the end"
            raise QueryError(f"Expected {what} at position {token.at} in $filter, found {shown}")
        self.at += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token.kind == "word" and token.text.lower() == word:
            self.at += 1
            return True
        return False

    def parse(self) -> Node:
        node = self.any_of()
        self.take("end", "'and', 'or' or the end")
        return node

    def any_of(self) -> Node:
        parts = [self.all_of()]
        while self.keyword("or"):
            parts.append(self.all_of())
        return parts[0] if len(parts) == 1 else Junction("or", tuple(parts))

    def all_of(self) -> Node:
        parts = [self.atom()]
        while self.keyword("and"):
            parts.append(self.atom())
        return parts[0] if len(parts) == 1 else Junction("and", tuple(parts))

    def atom(self) -> Node:
        if self.peek().kind == "lp":
            self.at += 1
            node = self.any_of()
            self.take("rp", "')'")
            return node
        return self.comparison()

    def comparison(self) -> Comparison:
        name = self.take("word", "a column name").text
        column = self.columns.get(name)
        if column is None:
            raise QueryError(f"Unknown column '{name}' in $filter")
        op_token = self.take("word", f"an operator after '{name}'")
        operator = next(
            (o for o in OPERATORS[column.type] if o.lower() == op_token.text.lower()), None
        )
        if operator is None:
            allowed = ", ".join(OPERATORS[column.type]) or "none"
            raise QueryError(
                f"Operator '{op_token.text}' is not valid for column '{name}' "
                f"of type {column.type} (valid: {allowed})"
            )
        return Comparison(column, operator, self.value(column, operator))

    def value(self, column: Column, operator: str) -> Any:
        if operator in ("in", "oneOf", "notOneOf"):
            return frozenset(self.bracketed(lambda: self.integer(column)))
        if operator in ("eq", "ne", "gt", "lt", "equals"):
            return self.integer(column)
        if operator == "set":
            flag = self.integer(column)
            if flag not in (0, 1):
                raise QueryError(f"'set' takes 1 or 0, found {flag} for '{column.name}'")
            return bool(flag)
        if operator == "between":
            days = self.bracketed(self.day)
            if len(days) != 2:
                raise QueryError(f"'between' takes two dates for '{column.name}'")
            return (days[0], days[1])
        if operator in ("before", "after"):
            return self.day()
        return self.moment()

    def bracketed(self, item: Callable[[], Any]) -> list[Any]:
        self.take("lp", "'(' before a list of values")
        values = [item()]
        while self.peek().kind == "comma":
            self.at += 1
            values.append(item())
        self.take("rp", "')' after a list of values")
        return values

    def integer(self, column: Column) -> int:
        return int(self.take("num", f"an integer value for '{column.name}'").text)

    def day(self) -> int:
        token = self.take("str", "a date in quotes ('YYYY-MM-DD')")
        # fromisoformat alone would also take '20250101' and datetimes; the contract wants dates.
        if re.fullmatch(r"\d{4}-\d\d-\d\d", token.text):
            try:
                return day_number(date.fromisoformat(token.text))
            except ValueError:
                pass
        raise QueryError(f"Not a date 'YYYY-MM-DD': '{token.text}'")

    def moment(self) -> int:
        token = self.take("str", "a datetime in quotes ('YYYY-MM-DDTHH:MM:SS')")
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", token.text):
            raise QueryError(f"Not a datetime 'YYYY-MM-DDTHH:MM:SS': '{token.text}'")
        try:
            moment = datetime.fromisoformat(token.text + "+00:00")
        except ValueError:
            raise QueryError(f"Not a datetime: '{token.text}'") from None
        return int(moment.timestamp())


def parse(text: str, columns: dict[str, Column]) -> Node | None:
    if not text.strip():
        return None
    return _Parser(text, columns).parse()


# ---------------------------------------------------------------- compile


def compile_node(node: Node, realism: Realism | None = None) -> Predicate:
    if isinstance(node, Junction):
        if node.kind == "and" and realism is not None and realism.interest_restrictions == "or":
            node = _interests_ored(node)
        parts = [compile_node(p, realism) for p in node.parts]
        if node.kind == "and":
            return reduce(lambda a, b: lambda r: a(r) and b(r), parts)
        return reduce(lambda a, b: lambda r: a(r) or b(r), parts)
    return _comparison(node, realism)


def _interests_ored(node: Junction) -> Junction:
    """The undocumented other reading: restrictions on one multi-list column are ORed."""
    same = [p for p in node.parts if isinstance(p, Comparison) and p.column.type == "multilist"]
    if len(same) < 2:
        return node
    rest = tuple(p for p in node.parts if p not in same)
    return Junction("and", (*rest, Junction("or", tuple(same))))


def _comparison(node: Comparison, realism: Realism | None = None) -> Predicate:
    raw, value, op, kind = node.column.raw, node.value, node.operator, node.column.type
    if kind == "multilist":
        if op == "oneOf":
            return lambda r: not value.isdisjoint(raw(r))
        if op == "notOneOf":
            if realism is not None and not realism.not_one_of_includes_empty:
                return lambda r: bool(raw(r)) and value.isdisjoint(raw(r))
            return lambda r: value.isdisjoint(raw(r))
        return lambda r: value in raw(r)
    if op in ("in", "oneOf"):
        return lambda r: raw(r) in value
    if op == "notOneOf":
        return lambda r: raw(r) not in value
    if op in ("eq", "equals"):
        return lambda r: raw(r) == value
    if op == "ne":
        return lambda r: raw(r) != value
    if op == "set":
        return lambda r: bool(raw(r)) is value
    return _ordered(node)


def _ordered(node: Comparison) -> Predicate:
    """Comparisons where a never-set value matches nothing."""
    raw, value, op = node.column.raw, node.value, node.operator
    # datetime columns store seconds; their date operators compare the UTC day number.
    to_day: Callable[[int], int] = (
        (lambda s: s // DAY) if node.column.type == "datetime" else (lambda d: d)
    )
    tests: dict[str, Callable[[int], bool]] = {
        "gt": lambda v: v > value,
        "lt": lambda v: v < value,
        "afterTime": lambda v: v > value,
        "beforeTime": lambda v: v < value,
        "before": lambda v: to_day(v) < value,
        "after": lambda v: to_day(v) > value,
        "between": lambda v: value[0] <= to_day(v) <= value[1],
    }
    test = tests[op]

    def predicate(row: Any) -> bool:
        found = raw(row)
        return found is not None and test(found)

    return predicate


# ---------------------------------------------------------------- the whole query


@dataclass
class Query:
    provider: str
    columns: dict[str, Column]
    select: tuple[Column, ...]
    predicate: Predicate | None
    order: tuple[tuple[Column, bool], ...]  # (column, descending)
    top: int | None
    skip: int
    entities: frozenset[str]
    after_id: int | None = None  # a top-level `personId gt N` (Person) to start from
    before_id: int | None = None  # a top-level `personId lt N` (Person) to stop before
    only_ids: frozenset[int] | None = None  # a top-level restriction to these person ids
    natural: bool = field(default=True)  # rows come out in stored order: a page can stop early
    backwards: bool = False  # natural, from the highest id down (`$orderBy=personId desc`)


def top_level(node: Node | None) -> list[Comparison]:
    """The comparisons every matching row must satisfy (the top-level `and`)."""
    if node is None:
        return []
    if isinstance(node, Comparison):
        return [node]
    return [p for p in node.parts if isinstance(p, Comparison)] if node.kind == "and" else []


def key_hints(
    provider: str, node: Node | None
) -> tuple[int | None, int | None, frozenset[int] | None]:
    """The ids a filter can match, so that a query need not walk everyone: (after, below, only)."""
    after: int | None = None
    before: int | None = None
    only: frozenset[int] | None = None
    for cmp in top_level(node):
        name, op = cmp.column.name, cmp.operator
        person_key = name == "personId" if provider == "Person" else name == "person/personId"
        if person_key and op == "gt":
            after = cmp.value if after is None else max(after, cmp.value)
        elif provider == "Person" and person_key and op == "lt":
            before = cmp.value if before is None else min(before, cmp.value)
        elif (person_key and op in ("eq", "in")) or (
            provider == "PersonActivity" and name == "personId" and op in ("oneOf", "equals")
        ):
            found = cmp.value if isinstance(cmp.value, frozenset) else frozenset((cmp.value,))
            only = found if only is None else only & found
    return after, before, only


def build_query(
    provider: str,
    params: dict[str, str],
    realism: Realism | None = None,
    columns: dict[str, Column] | None = None,
) -> Query:
    """`columns`: the provider's columns as this tenant answers them (variants.columns_for)."""
    columns = columns or PROVIDERS[provider]
    select = tuple(_select_column(columns, n) for n in _names(params.get("$select", "")))
    if not select:
        select = tuple(columns[n] for n in DEFAULT_SELECT[provider])
    node = parse(params.get("$filter", ""), columns)
    order = _order(columns, params.get("$orderBy", ""))
    key = "personId" if provider == "Person" else None
    by_key = len(order) == 1 and order[0][0].name == key
    natural = not order or (by_key and not order[0][1])
    backwards = by_key and order[0][1]
    after, before, only = key_hints(provider, node)
    return Query(
        provider=provider,
        columns=columns,
        select=select,
        predicate=compile_node(node, realism) if node is not None else None,
        order=() if natural or backwards else order,
        top=_count(params, "$top"),
        skip=_count(params, "$skip") or 0,
        entities=_entities(provider, params.get("$entities")),
        after_id=after,
        before_id=before,
        only_ids=only,
        natural=natural or backwards,
        backwards=backwards,
    )


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def _select_column(columns: dict[str, Column], name: str) -> Column:
    column = columns.get(name)
    if column is None:
        raise QueryError(f"Unknown column '{name}' in $select")
    if column.show is None:
        raise QueryError(f"Column '{name}' can only be used in $filter, not in $select")
    return column


def _order(columns: dict[str, Column], text: str) -> tuple[tuple[Column, bool], ...]:
    out: list[tuple[Column, bool]] = []
    for part in _names(text):
        words = part.split()
        direction = words[1].lower() if len(words) == 2 else "asc"
        if len(words) > 2 or direction not in ("asc", "desc"):
            raise QueryError(f"Invalid $orderBy '{part}': expected 'column' or 'column asc|desc'")
        out.append((_select_column(columns, words[0]), direction == "desc"))
    return tuple(out)


def _count(params: dict[str, str], name: str) -> int | None:
    text = params.get(name)
    if text is None:
        return None
    if not text.strip().isdigit():
        raise QueryError(f"{name} must be a non-negative integer, found '{text}'")
    return int(text)


def _entities(provider: str, text: str | None) -> frozenset[str]:
    kinds = ("appointment", "document", "chat", "formSubmission", "mailing")
    if text is None:
        return frozenset(kinds)
    if provider != "PersonActivity":
        raise QueryError(f"$entities is not supported by the archive provider '{provider}'")
    chosen = _names(text)
    for name in chosen:
        if name not in kinds:
            raise QueryError(f"Unknown entity '{name}' in $entities (valid: {', '.join(kinds)})")
    if not chosen:
        raise QueryError("$entities is empty")
    return frozenset(chosen)
