"""Who waits for a first response (spec: "Who waits for a first response").

Everyone who registers waits for a first response from a move guide, except a person who ticked
at least one interest other than the municipalities, all of them in `[first_response]
no_response_interests` (typically the newsletter and the magazine): they asked for no move
guidance. A person with no interests at all, or with municipalities alone, waits.

`asks_for_guidance` is the rule on one person's interests; `no_guidance_ids` answers it for the
register by interest ids (Slim interest columns are filter-only), so the overdue list, the mail
and the quarterly report ("what people asked for") share one rule.
"""

from __future__ import annotations

from collections.abc import Collection

from . import filters as f
from .parallel import together
from .register import Register


def asks_for_guidance(
    interests: Collection[int], kommuner: Collection[int], no_response: Collection[int]
) -> bool:
    """True when a person with these interests waits for a first response."""
    others = set(interests) - set(kommuner)
    return not others or not others <= set(no_response)


def no_guidance_ids(register: Register, *conditions: str | None) -> set[int]:
    """Ids of the persons matching `conditions` (registered by the end of as-of) who asked for
    no guidance: some interest of `no_response_interests`, and no other interest than those
    and the municipalities.

    Two scans, each with one restriction on `personInterestIds` (whether SuperOffice ANDs two
    restrictions on that column is undocumented), so `conditions` must not restrict interests
    either. Nothing is asked when `no_response_interests` is empty.
    """
    config = register.config
    no_response = set(config.first_response.no_response_interests)
    if not no_response:
        return set()
    only = f.one_of("personInterestIds", sorted(no_response))

    def asked_more() -> set[int]:
        others = register.interest_ids() - set(config.kommuner.values()) - no_response
        if not others:
            return set()
        return register.person_ids(f.one_of("personInterestIds", sorted(others)), *conditions)

    # Two independent scans (the second after the interest list): asked at once.
    asked_only, more = together(
        register.workers, lambda: register.person_ids(only, *conditions), asked_more
    )
    return asked_only - more
