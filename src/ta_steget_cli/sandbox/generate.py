"""Deterministic made-up Swedish persons and their activities, laid out relative to `today`.

Random persons make the register look lived-in; on top of them, when the tenant is big enough,
scenario persons guarantee that every municipality and the region always have something to show:
overdue and due-soon first responses, purge candidates, kept subscribers and persons kept by
recent activity.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from . import ids
from .records import FORM, GUIDES, MAIL, Activity, Person, User, to_seconds
from .workdays import add_working_days

STOCKHOLM = ZoneInfo("Europe/Stockholm")
DAY = 86_400
SCENARIO_MIN_PERSONS = 200

FIRST_NAMES = (
    "Anna", "Eva", "Maria", "Karin", "Sara", "Emma", "Elin", "Ida", "Linnéa", "Åsa", "Märta",
    "Ebba", "Signe", "Tove", "Agnes", "Astrid", "Maja", "Klara", "Sofia", "Hanna", "Lena",
    "Erik", "Lars", "Karl", "Anders", "Johan", "Per", "Nils", "Björn", "Östen", "Åke", "Göran",
    "Jörgen", "Oskar", "Viktor", "Axel", "Hugo", "Elias", "Liam", "Olle", "Sven", "Mats",
    "Ann-Sofi", "Karl-Johan", "Jan-Erik", "Eva-Lena",
)  # fmt: skip
LAST_NAMES = (
    "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
    "Persson", "Svensson", "Gustafsson", "Pettersson", "Jonsson", "Jansson", "Hansson",
    "Bengtsson", "Lindström", "Lindqvist", "Lundgren", "Berglund", "Fransson", "Söderberg",
    "Åberg", "Öberg", "Ekström", "Håkansson", "Näslund", "Sjöberg", "Wallin", "Engström",
    "Lind-Åkesson", "Berg-Nyström", "Hägg", "Strömgren", "Björklund", "Forsberg", "Dahl",
)  # fmt: skip
# A few names from elsewhere, so the tool meets apostrophes and non-Latin letters early.
RARE_NAMES = (
    ("Zoë", "O'Brien"), ("Νίκος", "Παπαδόπουλος"), ("Łukasz", "Wiśniewski"), ("Siobhán", "D'Arcy"),
    ("Aïsha", "Benali"), ("Jürgen", "Müller"), ("Ольга", "Иванова"), ("Mİne", "Öztürk"),
)  # fmt: skip
ASCII = str.maketrans(
    {"å": "a", "ä": "a", "ö": "o", "é": "e", "ü": "u", "ë": "e", "ï": "i", "ł": "l", "ś": "s",
     "á": "a", "'": "", " ": "", "-": ""}
)  # fmt: skip
DOMAINS = ("example.com", "example.net", "example.org")
KOMMUNER = tuple(ids.KOMMUN_INTERESTS)
RESPONSE_KINDS = ("appointment", "appointment", "document", "document", "chat")


def guides_of(area: str) -> list[User]:
    """The move guides who answer for a municipality, or for the region."""
    return [GUIDES[g[0]] for g in ids.MOVE_GUIDES if g[3] == area]


def local_moment(day: date, hour: int, minute: int = 0) -> int:
    """Epoch seconds of a Stockholm wall-clock time."""
    return to_seconds(datetime.combine(day, time(hour, minute), STOCKHOLM))


def start_of_day(day: date) -> int:
    return local_moment(day, 0)


class Generator:
    """Builds the persons of one tenant from a seed. Ids are assigned by the tenant afterwards."""

    def __init__(self, seed: int, today: date) -> None:
        self.rnd = random.Random(seed)
        # Drawn apart from `rnd`, so adding the magazine left every other made-up value as it was.
        self.magazine = random.Random(seed * 7907 + 3)
        self.today = today
        self.horizon = start_of_day(today)  # random data stays strictly before today

    # ---------------------------------------------------------------- random persons

    def random_persons(self, count: int) -> list[Person]:
        return [self.random_person() for _ in range(count)]

    def random_person(self) -> Person:
        rnd = self.rnd
        days_ago = 1 + int((6 * 365 - 2) * rnd.random() ** 1.7)  # denser recently
        registered = self.horizon - days_ago * DAY + rnd.randrange(6 * 3600, 21 * 3600)
        first, last = self.name()
        person = Person(first, last, registered)
        self.contact_details(person)
        person.interests = self.interests()
        person.form = rnd.choice((1, 1, 1, 2)) if rnd.random() < 0.85 else None
        self.consent(person)
        self.move_status(person)
        if rnd.random() < 0.4:
            person.associate = rnd.choice(self.area_guides(person))[0]
        person.no_mail = rnd.random() < 0.03
        self.activities(person)
        last_touch = max([registered, *(a.registered for a in person.activities)])
        person.updated = min(self.horizon - 1, last_touch + rnd.randrange(0, 30 * DAY))
        return person

    def name(self) -> tuple[str, str]:
        if self.rnd.random() < 0.02:
            return self.rnd.choice(RARE_NAMES)
        return self.rnd.choice(FIRST_NAMES), self.rnd.choice(LAST_NAMES)

    def contact_details(self, person: Person) -> None:
        rnd = self.rnd
        if rnd.random() < 0.85:
            local = f"{person.first}.{person.last}".lower().translate(ASCII)
            if not local.isascii():
                local = f"person{rnd.randrange(1000, 9999)}"
            person.email = f"{local}{rnd.randrange(1, 99)}@{rnd.choice(DOMAINS)}"
        # Numbers from the ranges PTS reserves for fiction, so no real phone can ring.
        if rnd.random() < 0.75:
            person.mobile = f"070-174 06 {rnd.randrange(5, 100):02d}"
        if rnd.random() < 0.2:
            person.phone = f"031-390 06 {rnd.randrange(0, 100):02d}"

    def interests(self) -> tuple[int, ...]:
        rnd = self.rnd
        chosen: list[int] = []
        if rnd.random() >= 0.15:  # ~15% tick no municipality: they belong to the region
            count = rnd.choices((1, 2, 3), (60, 30, 10))[0]
            chosen = [ids.KOMMUN_INTERESTS[k] for k in rnd.sample(KOMMUNER, count)]
        for item, share in ((ids.NEWSLETTER_INTEREST, 0.15), (111, 0.1), (112, 0.1)):
            if rnd.random() < share:
                chosen.append(item)
        if self.magazine.random() < 0.1:
            chosen.append(ids.MAGAZINE_INTEREST)
        return tuple(sorted(chosen))

    def consent(self, person: Person) -> None:
        if self.rnd.random() < 0.3:
            person.consent = "active" if self.rnd.random() < 0.8 else "withdrawn"
            person.consent_at = person.registered + (
                0 if person.consent == "active" else self.rnd.randrange(DAY, 400 * DAY)
            )
            person.consent_at = min(person.consent_at, self.horizon - 1)

    def move_status(self, person: Person) -> None:
        rnd = self.rnd
        if rnd.random() < 0.6:
            key = rnd.choices(tuple(ids.MOVE_STATUS_VALUES), (35, 30, 20, 15))[0]
            person.status = ids.MOVE_STATUS_VALUES[key]
            if key == "moved":
                kommuner = person.kommuner or KOMMUNER
                person.moved_to = ids.MOVED_TO_VALUES[rnd.choice(kommuner)]
                moved = person.registered + rnd.randrange(30, 700) * DAY
                person.move_date = datetime.fromtimestamp(
                    min(moved, self.horizon - DAY), UTC
                ).date()
        if rnd.random() < 0.5:
            person.preferred = rnd.choice(tuple(ids.PREFERRED_CONTACT_VALUES.values()))

    def area_guides(self, person: Person) -> list[User]:
        areas = person.kommuner or ("region",)
        return guides_of(self.rnd.choice(areas))

    def activities(self, person: Person) -> None:
        rnd = self.rnd
        reg = person.registered
        if person.form is not None:
            self.add(person, "formSubmission", reg, FORM)
            if rnd.random() < 0.7:  # the confirmation mail the form sends
                self.add(person, "document", reg + 30, FORM)
        if rnd.random() < 0.9:
            delay_days = rnd.choice((0, 1, 1, 2, 3, 4, 5)) if rnd.random() < 0.75 else 0
            if delay_days == 0 and rnd.random() < 0.25:
                delay_days = rnd.randrange(7, 30)  # late answers
            moment = reg + delay_days * DAY + rnd.randrange(3600, 8 * 3600)
            guide = rnd.choice(self.area_guides(person))
            self.add(person, rnd.choice(RESPONSE_KINDS), moment, guide)
        for _ in range(rnd.choices((0, 1, 2, 3), (35, 35, 20, 10))[0]):
            moment = rnd.randrange(reg, max(reg + 1, self.horizon))
            self.add(
                person, rnd.choice(RESPONSE_KINDS), moment, rnd.choice(self.area_guides(person))
            )
        if person.consent == "active" or ids.NEWSLETTER_INTEREST in person.interests:
            for _ in range(rnd.randrange(1, 5)):
                self.add(person, "mailing", rnd.randrange(reg, max(reg + 1, self.horizon)), MAIL)

    def add(
        self, person: Person, kind: str, moment: int, user: User, *, force: bool = False
    ) -> None:
        """Attach an activity, unless it would lie in the future (nobody answered yet)."""
        if moment >= self.horizon and not force:
            return
        done = kind != "appointment" or moment < self.horizon - DAY
        person.activities.append(Activity(person, kind, moment, moment, user, done))

    # ---------------------------------------------------------------- scenario persons

    def scenario_persons(self) -> list[Person]:
        """Per municipality and for the region, persons that make every command show something."""
        out: list[Person] = []
        for area in (*KOMMUNER, "region"):
            out.extend(self.area_scenario(area))
        for area in (*KOMMUNER, "region"):
            out.extend(self.no_guidance_scenario(area))
        return out

    def no_guidance_scenario(self, area: str) -> list[Person]:
        """Unanswered for 10 working days, but they asked only for the newsletter or only for
        the magazine (with the area's municipality ticked too, or none for the region)."""
        day = add_working_days(self.today, -10)
        out = []
        for interest in (ids.NEWSLETTER_INTEREST, ids.MAGAZINE_INTEREST):
            person = self.scenario_base(area, local_moment(day, 9, self.rnd.randrange(60)))
            person.interests = tuple(sorted((*person.interests, interest)))
            out.append(person)
        return out

    def area_scenario(self, area: str) -> list[Person]:
        today = self.today
        five_years = today.replace(year=today.year - 5, day=min(today.day, 28))
        waiting = [add_working_days(today, -n) for n in (10, 25, 3, 4)]  # overdue x2, due soon x2
        old = [five_years - timedelta(days=d) for d in (60, 200, 90, 150, 120)]
        out = [self.waiting_person(area, day) for day in waiting]
        out += [self.old_person(area, day) for day in old]
        purge_a, purge_b, subscriber, newsletter, active = out[4:]
        subscriber.consent = "active"
        newsletter.interests = tuple(sorted((*newsletter.interests, ids.NEWSLETTER_INTEREST)))
        for person in (subscriber, newsletter):
            self.add(person, "mailing", self.horizon - 40 * DAY, MAIL)
        guide = guides_of(area)[0]
        self.add(active, "document", self.horizon - 200 * DAY + 10 * 3600, guide)
        del purge_a, purge_b  # they keep only their old form submission
        return out

    def scenario_base(self, area: str, registered: int) -> Person:
        first, last = self.name()
        person = Person(first, last, registered)
        self.contact_details(person)
        if area != "region":
            person.interests = (ids.KOMMUN_INTERESTS[area],)
        person.form = 1
        person.status = ids.MOVE_STATUS_VALUES["interested"]
        self.add(person, "formSubmission", registered, FORM, force=True)
        self.add(person, "document", registered + 30, FORM, force=True)
        return person

    def waiting_person(self, area: str, day: date) -> Person:
        """Registered on a working day at 10:00, no response yet."""
        person = self.scenario_base(area, local_moment(day, 10, self.rnd.randrange(60)))
        person.preferred = self.rnd.choice(tuple(ids.PREFERRED_CONTACT_VALUES.values()))
        return person

    def old_person(self, area: str, day: date) -> Person:
        return self.scenario_base(area, local_moment(day, 11, self.rnd.randrange(60)))
