"""Loads and validates the TOML config once, into typed, frozen settings.

Every mistake becomes one `ConfigError` line naming the file, the key, what was found and what
was expected. Secrets never come from the config's plain text: they come from the environment,
or from a `secrets_file` the config points to, which must be readable by its owner only.
"""

from __future__ import annotations

import dataclasses as dc
import os
import stat
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import platformdirs

from . import KOMMUNER
from . import config_values as values
from .config_keys import check_known_keys, retired_warnings
from .config_toml import toml_error
from .config_values import NotifySettings as NotifySettings
from .errors import ConfigError
from .files import POSIX_PERMISSIONS
from .i18n import N_, _
from .secrets_file import HEADER_SECRETS, check_header_secret, read_secrets_file
from .secrets_file import SECRET_NAMES as SECRET_NAMES
from .secrets_file import Secrets as Secrets
from .workdays import DUE_WORKING_DAYS

AUTH_MODES = ("user", "system_user", "ticket", "bearer", "basic")
ENVIRONMENTS = ("sod", "qaonline", "online")
ACTIVITY_KINDS = ("appointment", "document", "chat", "formSubmission", "mailing")
# Mass mailings reach everyone: never a personal first response (the contract's activity kinds).
NEVER_A_RESPONSE = frozenset({"mailing"})
LANGUAGES = ("sv", "en")
APP_NAME = "tasteget"


@dataclass(frozen=True)
class SuperOfficeSettings:
    api_url: str | None = None
    web_url: str | None = None  # the web client's .../default.aspx, for links to a person's card
    tenant: str | None = None
    environment: str = "online"
    login_url: str | None = None  # overrides https://{environment}.superoffice.com (tests, sandbox)
    auth: str = "user"  # a person's own login (tasteget login); system_user for cron
    client_id: str | None = None  # the native app's id for auth = "user" (not a secret)
    page_size: int = 1000
    requests_per_second: float = 10.0
    max_in_flight: int = 4  # requests at once, all under requests_per_second
    timeout_seconds: float = 30.0  # each read
    request_deadline_seconds: float = 120.0  # the whole answer (a byte a second never ends)
    max_retries: int = 6
    max_retry_seconds: float = 120.0
    ticket_cache: Path | None = None  # where a system-user ticket is cached (0600)
    person_update: str = "patch"  # "put": GET then PUT, for tenants without PATCH


@dataclass(frozen=True)
class MoveStatusSettings:
    field: str = "SuperOffice:7"
    values: Mapping[str, int] = dc.field(default_factory=dict)
    moved_to_field: str | None = None
    moved_to_values: Mapping[str, int] = dc.field(default_factory=dict)  # kommun -> list item id
    move_date_field: str | None = None


@dataclass(frozen=True)
class PreferredContactSettings:
    field: str | None = None
    values: Mapping[str, int] = dc.field(default_factory=dict)  # "phone"/"email" -> list item id


@dataclass(frozen=True)
class FirstResponseSettings:
    working_days: int = DUE_WORKING_DAYS
    since: date = values.DEFAULT_SINCE
    lookback_days: int | None = None  # retired: since = as-of minus this, when since is not set
    no_response_interests: tuple[int, ...] = ()  # interests that ask for no guidance
    activity_kinds: tuple[str, ...] = ("appointment", "document", "chat")
    ignore_registered_by: tuple[str, ...] = ()
    closed_days: tuple[str, ...] = ()  # extra closed days, YYYY-MM-DD


@dataclass(frozen=True)
class PurgeSettings:
    inactive_years: int = 5
    activity_kinds: tuple[str, ...] = ("appointment", "document", "chat", "formSubmission")
    keep_emarketing_consent: bool = True
    newsletter_interest: int | None = None
    data_dir: Path = dc.field(default_factory=lambda: default_data_dir())
    max_plan_age_days: int = 14
    max_share: float = 0.20
    backup_retention_days: int = 30
    roles: tuple[str, ...] = ()  # roles besides administrators that may purge (and undo)


@dataclass(frozen=True)
class RunSettings:
    deadline_seconds: float = 0.0  # the whole command (cron); 0: none; --deadline overrides


@dataclass(frozen=True)
class ReportSettings:
    goals: Mapping[str, int] = dc.field(default_factory=dict)  # "2026" / "2026Q1" -> households
    recipients: tuple[str, ...] = ()  # who `report --mail` sends the report to


@dataclass(frozen=True)
class Config:
    path: Path | None
    superoffice: SuperOfficeSettings
    kommuner: Mapping[str, int]  # kommun name -> persint list item id, all eight
    move_status: MoveStatusSettings
    preferred_contact: PreferredContactSettings
    first_response: FirstResponseSettings
    purge: PurgeSettings
    notify: NotifySettings
    report: ReportSettings
    lang: str = dc.field(default="sv", metadata={"toml": "ui.lang"})
    secrets_file: Path | None = None
    warnings: tuple[str, ...] = ()  # one line each, for stderr (retired keys)
    run: RunSettings = dc.field(default_factory=RunSettings)


# ---------------------------------------------------------------- locations


def _dirs() -> platformdirs.PlatformDirs:
    """The platform's folders for the tool: XDG on Linux (XDG_CONFIG_HOME and friends are
    honoured), %APPDATA%/%LOCALAPPDATA% on Windows, ~/Library on macOS."""
    return platformdirs.PlatformDirs(APP_NAME, appauthor=False)


def _kept(platform_dir: str, legacy: Path) -> Path:
    """The platform folder, unless only the folder earlier versions used (~/.config,
    ~/.local/share, written by hand) exists: a macOS user's config and purge backups stay found."""
    new = Path(platform_dir)
    if not new.exists() and legacy.is_dir():
        return legacy
    return new


def default_config_dir() -> Path:
    return _kept(_dirs().user_config_dir, _legacy("XDG_CONFIG_HOME", ".config"))


def default_data_dir() -> Path:
    return _kept(_dirs().user_data_dir, _legacy("XDG_DATA_HOME", ".local", "share"))


def _legacy(variable: str, *parts: str) -> Path:
    base = os.environ.get(variable)
    return Path(base) / APP_NAME if base else Path.home().joinpath(*parts, APP_NAME)


def config_path(explicit: Path | None) -> Path:
    """--config, else $TASTEGET_CONFIG, else the platform config dir."""
    if explicit is not None:
        return explicit
    env = os.environ.get("TASTEGET_CONFIG")
    if env:
        return Path(env)
    return default_config_dir() / "config.toml"


class _Reader:
    """Reads one table of the TOML document, reporting mistakes with file and key."""

    def __init__(self, path: Path | None, table: Mapping[str, Any], prefix: str) -> None:
        self.path = path
        self.table = table
        self.prefix = prefix

    def where(self, key: str) -> str:
        name = str(self.path) if self.path else _("the config")
        return f"{name}: [{self.prefix}] {key}" if self.prefix else f"{name}: {key}"

    def fail(self, key: str, found: object, expected: str) -> ConfigError:
        if found is _MISSING:
            text = _("{where}: found nothing, expected {expected}")
            return ConfigError(text.format(where=self.where(key), expected=expected))
        kind = _(_type_name(found))
        shown = f"{found!r} ({kind})"
        text = _("{where}: found {shown}, expected {expected}")
        return ConfigError(text.format(where=self.where(key), shown=shown, expected=expected))

    def raw(self, key: str, default: object = None, *, required: bool = False) -> Any:
        if key not in self.table:
            if required:
                raise self.fail(key, _MISSING, _("a value (the key is required)"))
            return default
        return self.table[key]

    def string(self, key: str, default: str | None = None, *, required: bool = False) -> Any:
        value = self.raw(key, default, required=required)
        if value is None or isinstance(value, str):
            return value or default
        raise self.fail(key, value, _("a string"))

    def integer(self, key: str, default: int, lo: int | None = None, hi: int | None = None) -> int:
        value = self.raw(key, default)
        expected = _range_text(N_("an integer"), lo, hi)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, value, expected)
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise self.fail(key, value, expected)
        return value

    def number(self, key: str, default: float, lo: float, hi: float | None = None) -> float:
        value = self.raw(key, default)
        expected = _range_text(N_("a number"), lo, hi)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, value, expected)
        if value < lo or (hi is not None and value > hi):
            raise self.fail(key, value, expected)
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, value, _("true or false"))
        return value

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.raw(key, default)
        if not isinstance(value, str) or value not in choices:
            raise self.fail(key, value, _("one of {choices}").format(choices=", ".join(choices)))
        return value

    def strings(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self.raw(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, value, _("a list of strings"))
        return tuple(value)

    def kinds(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self.strings(key, default)
        for kind in value:
            if kind not in ACTIVITY_KINDS:
                among = _("activity kinds among {kinds}").format(kinds=", ".join(ACTIVITY_KINDS))
                raise self.fail(key, kind, among)
        return value

    def table_of(self, key: str) -> _Reader:
        value = self.raw(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, value, _("a table"))
        prefix = f"{self.prefix}.{key}" if self.prefix else key
        return _Reader(self.path, value, prefix)

    def ids(self, key: str) -> dict[str, int]:
        """A table of name -> positive list item id, each id once (one id under two names would
        send one municipality's people to another)."""
        sub = self.table_of(key)
        out: dict[str, int] = {}
        for name, value in sub.table.items():
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise sub.fail(name, value, _("a positive list item id"))
            if (other := next((n for n, v in out.items() if v == value), None)) is not None:
                own = _("an id of its own (it is already the id of {other})").format(other=other)
                raise sub.fail(name, value, own)
            out[name] = value
        return out

    def path_value(self, key: str, default: Path | None) -> Path | None:
        value = self.string(key, None)
        return Path(value).expanduser() if value else default


class _Missing:
    pass


_MISSING = _Missing()


def _type_name(value: object) -> str:
    return {
        bool: N_("boolean"),
        int: N_("integer"),
        float: N_("number"),
        str: N_("string"),
        list: N_("list"),
        dict: N_("table"),
    }.get(type(value), type(value).__name__)


def _range_text(kind: str, lo: float | None, hi: float | None) -> str:
    """'an integer from 1 to 60' (`kind` marked with N_)."""
    if lo is not None and hi is not None:
        return _("{kind} from {lo} to {hi}").format(kind=_(kind), lo=lo, hi=hi)
    if lo is not None:
        return _("{kind} of at least {lo}").format(kind=_(kind), lo=lo)
    return _(kind)


def fold_name(name: str) -> str:
    """A name as people type it on any keyboard: no case, no surrounding spaces, å/ä/ö as a/a/o
    (NFC first: a Mac may decompose Ö)."""
    return unicodedata.normalize("NFC", name).strip().casefold().translate(_PLAIN_LETTERS)


_PLAIN_LETTERS = str.maketrans({"å": "a", "ä": "a", "ö": "o", "é": "e"})


def kommun_name(name: str) -> str | None:
    """The canonical municipality name for `name`, matched without regard to case or å/ä/ö
    ("ostersund" is Östersund)."""
    folded = fold_name(name)
    for kommun in KOMMUNER:
        if fold_name(kommun) == folded:
            return kommun
    return None


# ---------------------------------------------------------------- sections


def _superoffice(root: _Reader) -> SuperOfficeSettings:
    so = root.table_of("superoffice")
    d = SuperOfficeSettings()
    api_url = so.string("api_url")
    tenant = so.string("tenant")
    auth = so.choice("auth", d.auth, AUTH_MODES)
    # A personal login learns the WebAPI address from its id_token, so it needs neither.
    if not api_url and not tenant and auth != "user":
        raise so.fail("api_url", _MISSING, _("api_url, or tenant (and environment) to resolve it"))
    if api_url and not api_url.rstrip("/").endswith("/api"):
        raise so.fail("api_url", api_url, _("the tenant's API root ending in /api"))
    web_url = values.web_url(so, "web_url")
    return SuperOfficeSettings(
        api_url=api_url.rstrip("/") if api_url else None,
        web_url=web_url,
        tenant=tenant,
        environment=so.choice("environment", d.environment, ENVIRONMENTS),
        login_url=(so.string("login_url") or "").rstrip("/") or None,
        auth=auth,
        client_id=so.string("client_id"),
        page_size=so.integer("page_size", d.page_size, 1, 5000),
        requests_per_second=so.number("requests_per_second", d.requests_per_second, 0.1, 1000.0),
        max_in_flight=so.integer("max_in_flight", d.max_in_flight, 1, 64),
        timeout_seconds=so.number("timeout_seconds", d.timeout_seconds, 0.1, 600.0),
        request_deadline_seconds=so.number(
            "request_deadline_seconds", d.request_deadline_seconds, 0.1, 3600.0
        ),
        max_retries=so.integer("max_retries", d.max_retries, 0, 20),
        max_retry_seconds=so.number("max_retry_seconds", d.max_retry_seconds, 0.0, 3600.0),
        ticket_cache=so.path_value("ticket_cache", d.ticket_cache),
        person_update=so.choice("person_update", d.person_update, ("patch", "put")),
    )


def _kommuner(root: _Reader) -> dict[str, int]:
    raw = root.ids("kommuner")
    sub = root.table_of("kommuner")
    out: dict[str, int] = {}
    for name, item_id in raw.items():
        canonical = kommun_name(name)
        if canonical is None:
            eight = _("one of the eight municipalities: {names}").format(names=", ".join(KOMMUNER))
            raise sub.fail(name, name, eight)
        out[canonical] = item_id
    missing = [k for k in KOMMUNER if k not in out]
    if missing:
        raise sub.fail(missing[0], _MISSING, _("an interest (persint) id for every municipality"))
    return {k: out[k] for k in KOMMUNER}


def _move_status(root: _Reader) -> MoveStatusSettings:
    ms = root.table_of("move_status")
    values = ms.ids("values")
    if not values:
        raise ms.fail("values", _MISSING, _("a table of status key -> list item id"))
    moved_to = ms.ids("moved_to_values")
    for name in moved_to:
        if kommun_name(name) is None:
            raise ms.table_of("moved_to_values").fail(name, name, _("a municipality name"))
    return MoveStatusSettings(
        field=ms.string("field", MoveStatusSettings.field),
        values=values,
        moved_to_field=ms.string("moved_to_field"),
        moved_to_values={kommun_name(k) or k: v for k, v in moved_to.items()},
        move_date_field=ms.string("move_date_field"),
    )


def _preferred_contact(root: _Reader) -> PreferredContactSettings:
    pc = root.table_of("preferred_contact")
    return PreferredContactSettings(field=pc.string("field"), values=pc.ids("values"))


def _first_response(root: _Reader) -> FirstResponseSettings:
    fr = root.table_of("first_response")
    d = FirstResponseSettings()
    closed = values.day_strings(fr, "closed_days", d.closed_days)
    kinds = fr.kinds("activity_kinds", d.activity_kinds)
    for kind in kinds:
        if kind in NEVER_A_RESPONSE:
            expected = _("kinds that can be a first response ({kind} is a mass mailing)").format(
                kind=kind
            )
            raise fr.fail("activity_kinds", kind, expected)
    return FirstResponseSettings(
        working_days=fr.integer("working_days", d.working_days, 1, 60),
        since=values.day(fr, "since", d.since),
        lookback_days=values.retired_lookback(fr),
        no_response_interests=values.id_list(fr, "no_response_interests"),
        activity_kinds=kinds,
        ignore_registered_by=fr.strings("ignore_registered_by", d.ignore_registered_by),
        closed_days=closed,
    )


def _purge(root: _Reader) -> PurgeSettings:
    pu = root.table_of("purge")
    d = PurgeSettings()
    interest = pu.raw("newsletter_interest", None)
    if interest is not None and (
        isinstance(interest, bool) or not isinstance(interest, int) or interest <= 0
    ):
        raise pu.fail("newsletter_interest", interest, _("a positive interest (persint) id"))
    return PurgeSettings(
        inactive_years=pu.integer("inactive_years", d.inactive_years, 1, 50),
        activity_kinds=pu.kinds("activity_kinds", d.activity_kinds),
        keep_emarketing_consent=pu.boolean("keep_emarketing_consent", d.keep_emarketing_consent),
        newsletter_interest=interest,
        data_dir=pu.path_value("data_dir", None) or d.data_dir,
        max_plan_age_days=pu.integer("max_plan_age_days", d.max_plan_age_days, 0, 3650),
        max_share=pu.number("max_share", d.max_share, 0.0, 1.0),
        backup_retention_days=pu.integer("backup_retention_days", d.backup_retention_days, 0, 3650),
        roles=pu.strings("roles", d.roles),
    )


def _notify(root: _Reader) -> NotifySettings:
    no = root.table_of("notify")
    d = NotifySettings()
    rec = no.table_of("recipients")
    recipients: dict[str, tuple[str, ...]] = {}
    for name, addresses in values.addresses(rec).items():
        canonical = "region" if name.casefold() == "region" else kommun_name(name)
        if canonical is None:
            raise rec.fail(name, name, _("a municipality name or 'region'"))
        recipients[canonical] = addresses
    return NotifySettings(
        due_soon_days=no.integer("due_soon_days", d.due_soon_days, 0, 60),
        details=no.choice("details", d.details, values.NOTIFY_DETAILS),
        transport=no.choice("transport", d.transport, values.NOTIFY_TRANSPORTS),
        per_guide=no.boolean("per_guide", d.per_guide),
        guides=values.addresses(no.table_of("guides")),
        configured=bool(no.table),
        smtp_host=no.string("smtp_host"),
        smtp_port=no.integer("smtp_port", d.smtp_port, 1, 65535),
        starttls=no.boolean("starttls", d.starttls),
        ssl=no.boolean("ssl", d.ssl),
        sender=values.mail_address(no, "from"),
        username=no.string("username"),
        outbox=no.path_value("outbox", d.outbox) or d.outbox,
        recipients=recipients,
    )


def _report(root: _Reader) -> ReportSettings:
    rep = root.table_of("report")
    return ReportSettings(values.goals(rep, "goals"), values.mail_addresses(rep, "recipients"))


def _ui(root: _Reader) -> str:
    """[ui] lang (--lang overrides it); the retired top-level lang counts when [ui] has none."""
    legacy = root.choice("lang", Config.lang, LANGUAGES)
    return root.table_of("ui").choice("lang", legacy, LANGUAGES)


def ui_language(explicit: Path | None) -> str | None:
    """[ui] lang of the config file, read before anything is parsed so that even the help and
    the errors of parsing are in that language; None when there is no readable value (the
    full load reports what is wrong with the file)."""
    try:
        document = tomllib.loads(config_path(explicit).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    ui = document.get("ui")
    lang = ui.get("lang") if isinstance(ui, dict) else document.get("lang")
    return lang if isinstance(lang, str) else None


def parse_config(document: Mapping[str, Any], path: Path | None = None) -> Config:
    """Validate a parsed TOML document into a Config."""
    check_known_keys(document, path, Config)
    root = _Reader(path, document, "")
    return Config(
        path=path,
        superoffice=_superoffice(root),
        kommuner=_kommuner(root),
        move_status=_move_status(root),
        preferred_contact=_preferred_contact(root),
        first_response=_first_response(root),
        purge=_purge(root),
        notify=_notify(root),
        report=_report(root),
        lang=_ui(root),
        secrets_file=root.path_value("secrets_file", None),
        warnings=values.retired_warnings(root) + retired_warnings(document, path, Config),
        run=RunSettings(root.table_of("run").number("deadline_seconds", 0.0, 0.0, 604800.0)),
    )


def load_config(path: Path) -> Config:
    """Read and validate the config file at `path`."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        text = _(
            "{path}: no config file there; copy config.example.toml, or pass --config, "
            "or try the built-in tenant with --sandbox"
        )
        raise ConfigError(text.format(path=path)) from None
    except OSError as exc:
        text = _("{path}: cannot read the config file ({reason})")
        raise ConfigError(text.format(path=path, reason=exc.strerror)) from None
    try:
        document = tomllib.loads(data.decode("utf-8-sig"))  # Notepad writes a BOM
    except UnicodeDecodeError:
        text = _("{path}: the config file is not UTF-8 text")
        raise ConfigError(text.format(path=path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(toml_error(path, data, exc)) from None
    return parse_config(document, path)


# ---------------------------------------------------------------- secrets


def load_secrets(config: Config | None, environ: Mapping[str, str] | None = None) -> Secrets:
    """Secrets from the environment, then from the config's secrets_file (owner-only)."""
    env = os.environ if environ is None else environ
    values = {name: env[name] for name in SECRET_NAMES if env.get(name)}
    if config is not None and config.secrets_file is not None:
        for name, value in read_secrets_file(config.secrets_file, SECRET_NAMES).items():
            values.setdefault(name, value)
    for name in HEADER_SECRETS:
        if name in values:
            check_header_secret(name, values[name])
    if environ is None:  # the real environment: `tasteget secrets set` may have kept the rest
        from .keychain import get_secret

        return Secrets(values, keyring=get_secret)
    return Secrets(values)


def group_or_world_readable(path: Path) -> bool:
    """True when others than the owner can read `path` (a warning for files holding secrets)."""
    if not POSIX_PERMISSIONS:
        return False  # no modes to judge by (Windows): see files.py
    try:
        return bool(path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH))
    except OSError:
        return False
