"""The archive query shapes the commands send, built by the register's own rules, so that
`doctor --probe` asks the tenant exactly what the commands will ask."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from . import filters as f
from .register import ACTIVITY_COLUMNS, PERSON_COLUMNS, Register


@dataclass(frozen=True)
class Shape:
    name: str
    provider: str
    select: tuple[str, ...]
    filter: str | None
    entities: tuple[str, ...] | None = None


def query_shapes(register: Register, any_id: int) -> list[Shape]:
    """Every archive query shape the commands send, built by the register's own rules."""
    config = register.config
    first_kommun = next(iter(config.kommuner))
    registered = register.registered_by_as_of()
    shapes = [
        Shape("persons", "Person", PERSON_COLUMNS, registered),
        Shape(
            "persons of a municipality",
            "Person",
            ("personId",),
            f.all_of(registered, register.kommun_filter(first_kommun)),
        ),
        Shape("persons of the region", "Person", ("personId",), register.region_filter()),
        Shape(
            "registered between",
            "Person",
            ("personId",),
            register.registered_between(register.as_of - timedelta(days=90), register.as_of),
        ),
        Shape(
            "e-marketing consent",
            "Person",
            ("personId",),
            f.all_of(
                f.is_set("hasEmarketingConsent", True),
                f.is_set("withdrawnEmarketingConsent", False),
            ),
        ),
        Shape(
            "registered before", "Person", ("personId",), register.registered_before(register.as_of)
        ),
    ]
    ms = config.move_status
    if ms.field and ms.values:
        status = next(iter(ms.values))
        shapes.append(Shape("move status", "Person", ("personId",), register.status_filter(status)))
    if ms.move_date_field:
        column = f"personUdef/{ms.move_date_field}"
        shapes.append(
            Shape("move date", "Person", ("personId", "personUpdatedDate", column), registered)
        )
    pc = config.preferred_contact
    if pc.field and pc.values:
        item = next(iter(pc.values.values()))
        shapes.append(
            Shape(
                "preferred contact",
                "Person",
                ("personId",),
                f.equals(f"personUdef/{pc.field}", item),
            )
        )
    if config.purge.newsletter_interest:
        shapes.append(
            Shape(
                "newsletter interest",
                "Person",
                ("personId",),
                f.one_of("personInterestIds", [config.purge.newsletter_interest]),
            )
        )
    before = f.before("registeredDate", register.as_of + timedelta(days=1))
    for name, kinds in (
        ("first responses", config.first_response.activity_kinds),
        ("activities counted by the purge", config.purge.activity_kinds),
    ):
        shapes.append(
            Shape(
                name,
                "PersonActivity",
                ACTIVITY_COLUMNS,
                f.all_of(f.one_of("personId", [any_id]), before),
                tuple(kinds),
            )
        )
    shapes.append(
        Shape(
            "activity since the cut-off",
            "PersonActivity",
            ACTIVITY_COLUMNS,
            f.all_of(f.one_of("personId", [any_id]), register.activity_on_or_after(register.as_of)),
            tuple(config.purge.activity_kinds),
        )
    )
    return shapes
