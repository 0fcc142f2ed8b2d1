"""Which overdue list goes to whom (`tasteget notify`).

The overdue service makes one list for the whole county; this module cuts it into one list per
municipality (a person in two municipalities is on both) and one for the region (persons with
none), pairs each with the addresses in `[notify.recipients]`, and leaves writing and sending to
`mail`. Plain functions over dataclasses: nothing here reads the register, prints or connects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from . import mail
from .config import NotifySettings
from .errors import ConfigError
from .i18n import _
from .models import OverdueItem
from .overdue import Older
from .smtp_policy import require_encrypted_login

REGION = mail.REGION
GUIDE_PREFIX = mail.GUIDE_PREFIX


@dataclass(frozen=True)
class Mailing:
    """One list and the addresses it goes to."""

    key: str  # municipality name, "region", or "guide:<our contact as SuperOffice shows it>"
    recipients: tuple[str, ...]
    items: tuple[OverdueItem, ...]
    older: tuple[Older, ...] = ()  # unanswered before `since`: counted in the mail


@dataclass(frozen=True)
class Plan:
    mailings: tuple[Mailing, ...]  # to compose and send, in config order, region last
    unaddressed: tuple[tuple[str, int], ...]  # (key, list length): no recipients configured
    empty: tuple[str, ...]  # keys whose empty list is not sent


def list_for(key: str, items: Iterable[OverdueItem]) -> tuple[OverdueItem, ...]:
    """The part of the county's list that `key` answers for, in the list's order."""
    if key == REGION:
        return tuple(i for i in items if not i.kommuner)
    return tuple(i for i in items if key in i.kommuner)


def older_for(key: str, left_out: Iterable[Older]) -> tuple[Older, ...]:
    """The part of the registrations before `since` that `key` answers for."""
    if key == REGION:
        return tuple(o for o in left_out if not o.kommuner)
    return tuple(o for o in left_out if key in o.kommuner)


def guide_lists(
    items: Sequence[OverdueItem], guides: Mapping[str, Sequence[str]]
) -> tuple[list[Mailing], list[tuple[str, int]]]:
    """Each responsible guide's own list (our contact, matched without regard to case) to the
    addresses in [notify.guides]; and the guides with persons but no addresses."""
    addresses = {name.casefold(): (name, tuple(to)) for name, to in guides.items()}
    by_guide: dict[str, list[OverdueItem]] = {}
    for item in items:
        if item.our_contact:
            by_guide.setdefault(item.our_contact.casefold(), []).append(item)
    mailings: list[Mailing] = []
    unaddressed: list[tuple[str, int]] = []
    for folded, part in sorted(by_guide.items()):
        name, to = addresses.get(folded, (part[0].our_contact or folded, ()))
        if to:
            mailings.append(Mailing(GUIDE_PREFIX + name, to, tuple(part)))
        else:
            unaddressed.append((GUIDE_PREFIX + name, len(part)))
    return mailings, unaddressed


def keys_of(kommuner: Iterable[str], only: str | None) -> tuple[str, ...]:
    """Every municipality, then the region; or just `only`."""
    keys = (*kommuner, REGION)
    return tuple(k for k in keys if only is None or k == only)


def plan_mailings(
    items: Sequence[OverdueItem],
    kommuner: Iterable[str],
    recipients: Mapping[str, Sequence[str]],
    *,
    only: str | None = None,
    send_empty: bool = False,
    left_out: Sequence[Older] = (),
    guides: Mapping[str, Sequence[str]] | None = None,
) -> Plan:
    """Who gets which list. `only` with no recipients is a configuration error: the user asked
    for exactly that mail and nothing could be sent. With `guides` ([notify] per_guide), each
    responsible guide also gets their own list."""
    mailings: list[Mailing] = []
    unaddressed: list[tuple[str, int]] = []
    empty: list[str] = []
    for key in keys_of(kommuner, only):
        part = list_for(key, items)
        addresses = tuple(recipients.get(key, ()))
        if not addresses:
            if only is not None:
                raise ConfigError(
                    _("[notify.recipients] has no addresses for {key}; nothing to send").format(
                        key=key
                    )
                )
            unaddressed.append((key, len(part)))
        elif not part and not send_empty:
            empty.append(key)
        else:
            mailings.append(Mailing(key, addresses, part, older_for(key, left_out)))
    if guides is not None:
        own, nobody = guide_lists(items, guides)
        mailings += own
        unaddressed += nobody
    return Plan(tuple(mailings), tuple(unaddressed), tuple(empty))


def require_sender(settings: NotifySettings) -> str:
    if not settings.sender:
        raise ConfigError(_("[notify] from is not set; notify needs a sender address"))
    return settings.sender


def require_smtp(settings: NotifySettings, password: str | None) -> None:
    """Fail before reading the register when sending cannot work at all."""
    if not settings.smtp_host:
        raise ConfigError(_("[notify] smtp_host is not set; notify needs it (or use --dry-run)"))
    require_encrypted_login(settings)
    if settings.username and not password:
        raise ConfigError(
            _(
                "TASTEGET_SMTP_PASSWORD is not set in the environment; the SMTP login needs it "
                "(or use --dry-run)"
            )
        )


def older_note(older: Sequence[Older], since: date) -> mail.Older | None:
    if not older:
        return None
    return mail.Older(len(older), since, min(o.registered for o in older))


def outgoing(
    plan: Plan, *, as_of: date, settings: NotifySettings, lang: str, since: date
) -> list[mail.Outgoing]:
    """The composed messages of the plan, in its order."""
    messages = [
        mail.outgoing_for(
            m.key,
            m.items,
            as_of=as_of,
            settings=settings,
            lang=lang,
            recipients=m.recipients,
            older=older_note(m.older, since),
        )
        for m in plan.mailings
    ]
    return [m for m in messages if m is not None]


def failures(results: Iterable[mail.DeliveryResult]) -> list[mail.DeliveryResult]:
    return [r for r in results if not r.ok]
