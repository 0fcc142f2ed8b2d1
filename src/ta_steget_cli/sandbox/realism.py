"""How the sandbox answers where SuperOffice is strange or where its behaviour is undocumented.

The first group are forms SuperOffice documents or real tenants show; they default to the real
way (sources in `superoffice-contract.md` and in the tests that pin them):

- `encoded_dates`: date UDEFs as SuperOffice's CultureDataFormatter writes them, `[DT:MM/dd/yyyy
  HH:mm:ss.fffffff]` in CustomFields and `[D:MM/dd/yyyy HH:mm:ss.fffffff]` in UserDefinedFields
  (the year-1 date when unset); off, the old friendlier `[D:yyyy.MM.dd]`.
- `multi_language`: list texts as multi-language strings (`SV:"…";US:"…";NO:"…"`) unless the
  request sends `Accept-Language` (or `SO-Language`).
- `max_top`: the most rows one archive answer holds; a larger `$top` is cut and `odata.nextLink`
  points at the rest.
- `archive_post`: whether `POST /v1/Archive/{provider}` exists (older NetServers answer 404).
- `interest_headings`: `MDOList/persint` groups its items under headings (`ChildItems`).
- `patch`: whether `PATCH /v1/Person/{id}` exists (older Onsite NetServers answer 405 and take
  a PUT of the whole entity instead).

The second group are semantics SuperOffice does not document. They default to what the tool
assumes; flipping one shows which answers the tool depends on, and `doctor --probe` must notice:

- `not_one_of_includes_empty`: `personInterestIds notOneOf (…)` returns persons with no interests.
- `interest_restrictions`: two restrictions on `personInterestIds` joined by `and` are an AND
  ("and") or an OR ("or").
- `invited_participants`: `PersonActivity` for `personId oneOf (x)` also returns the follow-ups
  `x` is invited to, whose `person/personId` is the person who owns them.
- `activity_date_zone`: the activity `date` column in UTC ("utc", like `registeredDate`) or in
  the tenant's local time ("local", Europe/Stockholm).
- `update_precision`: "second": `UpdatedDate` is whole seconds; "fraction": it carries
  SuperOffice's seven fractional digits, a PATCH `test` must match them exactly and
  `If-Unmodified-Since` (whole seconds) is compared against the exact time.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

SEMANTICS = (
    "not_one_of_includes_empty",
    "interest_restrictions",
    "invited_participants",
    "activity_date_zone",
    "update_precision",
)


@dataclass
class Realism:
    encoded_dates: bool = True
    multi_language: bool = True
    max_top: int | None = 500
    archive_post: bool = True
    interest_headings: bool = True
    patch: bool = True
    not_one_of_includes_empty: bool = True
    interest_restrictions: str = "and"
    invited_participants: bool = False
    activity_date_zone: str = "utc"
    update_precision: str = "second"

    def __post_init__(self) -> None:
        if self.interest_restrictions not in ("and", "or"):
            raise ValueError("interest_restrictions must be 'and' or 'or'")
        if self.activity_date_zone not in ("utc", "local"):
            raise ValueError("activity_date_zone must be 'utc' or 'local'")
        if self.update_precision not in ("second", "fraction"):
            raise ValueError("update_precision must be 'second' or 'fraction'")
        if self.max_top is not None and self.max_top < 1:
            raise ValueError("max_top must be at least 1")

    @classmethod
    def real(cls) -> Realism:
        """Every documented form the real way (the default)."""
        return cls()

    @classmethod
    def friendly(cls) -> Realism:
        """The forms the sandbox used before it answered the real way (for comparisons)."""
        return cls(
            encoded_dates=False,
            multi_language=False,
            max_top=None,
            interest_headings=False,
        )

    def flipped(self, name: str) -> Realism:
        """This realism with one undocumented semantic answered the other way."""
        other: dict[str, Any] = {
            "not_one_of_includes_empty": not self.not_one_of_includes_empty,
            "interest_restrictions": "or" if self.interest_restrictions == "and" else "and",
            "invited_participants": not self.invited_participants,
            "activity_date_zone": "local" if self.activity_date_zone == "utc" else "utc",
            "update_precision": "fraction" if self.update_precision == "second" else "second",
        }
        if name not in other:
            raise ValueError(f"unknown semantic {name!r}; expected one of {', '.join(SEMANTICS)}")
        return replace(self, **{name: other[name]})

    def describe(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# ---------------------------------------------------------------- multi-language texts

# Texts that an administrator entered in several languages. SuperOffice stores them as one
# string and, without a language asked for, answers that string as it is.
_TRANSLATIONS: dict[str, dict[str, str]] = {
    "Nyhetsbrev": {"US": "Newsletter", "NO": "Nyhetsbrev"},
    "Jobb i länet": {"US": "Jobs in the county", "NO": "Jobb i fylket"},
    "Boende": {"US": "Housing", "NO": "Bolig"},
    "Intresserad": {"US": "Interested", "NO": "Interessert"},
    "Planerar flytt": {"US": "Planning to move", "NO": "Planlegger flytting"},
    "Har flyttat": {"US": "Has moved", "NO": "Har flyttet"},
    "Flyttar inte": {"US": "Not moving", "NO": "Flytter ikke"},
    "Telefon": {"US": "Phone", "NO": "Telefon"},
    "E-post": {"US": "E-mail", "NO": "E-post"},
    "Möte": {"US": "Meeting", "NO": "Møte"},
    "Telefonsamtal": {"US": "Phone call", "NO": "Telefonsamtale"},
}


def multi_language(text: str) -> str:
    """The stored form of a text entered in several languages, Swedish first."""
    others = _TRANSLATIONS.get(text)
    if not others:
        return text
    parts = [f'SV:"{text}"', *(f'{lang}:"{value}"' for lang, value in others.items())]
    return ";".join(parts) + ";"


def localized(text: str, language: str | None, realism: Realism) -> str:
    """A list text as SuperOffice answers it: in the asked language, else the stored string."""
    if not language:
        return multi_language(text) if realism.multi_language else text
    code = language.split(",")[0].split(";")[0].split("-")[0].strip().upper()
    if code in ("SV", "*", ""):
        return text
    if code == "EN":
        code = "US"
    return _TRANSLATIONS.get(text, {}).get(code, text)


def request_language(headers: dict[str, str]) -> str | None:
    """SO-Language wins over Accept-Language (Swagger-v1-Archive.json, the header parameters)."""
    return headers.get("so-language") or headers.get("accept-language") or None
