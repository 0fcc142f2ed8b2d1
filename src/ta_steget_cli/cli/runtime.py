"""What every command needs: the config, the client, today's date, the language, stderr."""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from ..config import (
    SECRET_NAMES,
    Config,
    Secrets,
    SuperOfficeSettings,
    config_path,
    default_data_dir,
    group_or_world_readable,
    kommun_name,
    load_config,
    load_secrets,
)
from ..errors import UsageError
from ..i18n import _, language
from ..workdays import EARLIEST_DAY, day_in_range, latest_day, today_stockholm
from .progress import TerminalProgress

if TYPE_CHECKING:
    from ..keychain import LoginStore
    from ..models import Session
    from ..superoffice import SuperOfficeClient

log = logging.getLogger("ta_steget_cli.cli")

SANDBOX_PERSONS = 3000
SANDBOX_SEED = 1


def sandbox_state_dir() -> Path:
    """Where --sandbox keeps its tenant between commands: the sandbox's data folder."""
    from ..sandbox.tool_config import sandbox_config

    return sandbox_config().purge.data_dir


@dataclass
class Runtime:
    config_path: Path | None = None
    sandbox: bool = False
    verbose: bool = False
    lang_option: str | None = None
    log_handler: logging.Handler | None = field(default=None, repr=False)
    deadline: float | None = None  # --deadline SECONDS
    started: float = field(default_factory=time.monotonic)  # --deadline counts from here
    _config: Config | None = field(default=None, repr=False)
    _client: SuperOfficeClient | None = field(default=None, repr=False)
    _file_secrets: list[str] = field(default_factory=list, repr=False)

    @property
    def err(self) -> Console:
        # Messages are single lines however long (a path, a reason): wrapping at 80 columns
        # breaks them for cron mail and grep. Text is printed as it is, never as markup.
        return Console(stderr=True, soft_wrap=True, markup=False, highlight=False)

    def known_secrets(self) -> list[str]:
        """Every secret value this run could print by accident: the environment's, the
        secrets_file's once read, the sandbox's."""
        values = [os.environ[name] for name in SECRET_NAMES if os.environ.get(name)]
        if self.sandbox:
            from ..sandbox.tool_config import sandbox_secrets

            values += sandbox_secrets().all_values()
        return values + self._file_secrets

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = self._load_config()
        return self._config

    def _load_config(self) -> Config:
        if self.sandbox:
            from ..sandbox.tool_config import sandbox_config

            return sandbox_config()
        path = config_path(self.config_path)
        config = load_config(path)
        for line in config.warnings:
            typer.echo(line, err=True)  # plain: [table] names are no rich markup
        # A bad secrets_file is a config error now, not mid-run. Only the file is read here
        # (no environment: `environ={}`, so no keyring either): the keyring is asked once,
        # when a client needs the secrets, not twice (each lookup costs a run ~15 ms a name).
        self._file_secrets = load_secrets(config, environ={}).all_values()
        # Whether the environment holds secrets says nothing about the file: a ticket or a
        # password written into it is exposed whatever the environment holds.
        if group_or_world_readable(path) and _holds_secret_text(path):
            text = _("warning: {path} looks like it holds secrets and others can read it")
            self.err.print(text.format(path=path), markup=False)
        return config

    @property
    def lang(self) -> str:
        """The language chosen for this run, before parsing (see app.choose_language)."""
        return language()

    def secrets(self) -> Secrets:
        if self.sandbox:
            from ..sandbox.tool_config import sandbox_secrets

            return sandbox_secrets()
        return load_secrets(self.config)

    def client(
        self, today: date | None = None, settings: SuperOfficeSettings | None = None
    ) -> SuperOfficeClient:
        """The SuperOffice client; with --sandbox, over an in-process sandbox tenant laid out
        around `today` (so that every command has something to show on any day)."""
        if self._client is None:
            from ..superoffice import RedactSecrets, SuperOfficeClient

            secrets = self.secrets()
            if self.log_handler is not None:
                self.log_handler.addFilter(RedactSecrets(secrets.all_values))
            transport = None
            if self.sandbox:
                transport = self._sandbox_transport(today)
            self._client = SuperOfficeClient(
                settings or self.config.superoffice,
                secrets,
                transport=transport,
                logins=self.login_store(settings),
                deadline=self._deadline_left(),
            )
            if sys.stderr.isatty():  # a person is watching: say what a long read is doing
                rate = self.config.superoffice.requests_per_second
                self._client.observer = TerminalProgress(sys.stderr, rate)
        return self._client

    def _deadline_left(self) -> tuple[float, float] | None:
        """The command's deadline (--deadline, else [run] deadline_seconds): (seconds left,
        seconds set), counted from the command's start."""
        seconds = self.deadline or self.config.run.deadline_seconds
        return (seconds - (time.monotonic() - self.started), seconds) if seconds else None

    def _sandbox_transport(self, today: date | None) -> Any:
        """The --sandbox tenant as it was left by the last command (made on first use, laid out
        around `today`), so that a change is seen by the next command until `sandbox reset`."""
        from ..sandbox import TenantStore
        from ..sandbox import transport as sandbox_transport

        store = TenantStore(sandbox_state_dir())
        tenant = store.load(SANDBOX_PERSONS, SANDBOX_SEED, today or today_stockholm())
        if store.started_over:
            note = _(
                "The sandbox has started over: the state saved in {folder} could not be read."
            ).format(folder=store.folder)
            self.err.print(note, markup=False, highlight=False)
        return sandbox_transport(tenant)

    def hint(self, text: str) -> str:
        """A command line shown to the user, with --sandbox when this run uses the sandbox, so
        that following the hint keeps working in the same tenant."""
        if not self.sandbox:
            return text
        return re.sub(r"\btasteget (?!--sandbox)", "tasteget --sandbox ", text)

    def require_delete(self, command: str) -> None:
        """Refuses `command` (purge, undo) up front for a user who may not delete persons."""
        from ..rights import require_delete

        require_delete(self.client().principal(), self.config.purge.roles, command)

    def require_write(self, command: str) -> None:
        """Refuses `command` (a status change) up front for a user who may not change persons."""
        from ..rights import require_write

        require_write(self.client().principal(), command)

    def login_store(self, settings: SuperOfficeSettings | None = None) -> LoginStore | None:
        """Where a personal login (auth = user) is kept; None for every other login mode."""
        from ..keychain import LoginStore
        from ..superoffice import login_host

        so = settings or self.config.superoffice
        if so.auth != "user" or self.sandbox:
            return None
        owner = f"{login_host(so)}|{so.client_id or ''}"
        return LoginStore(default_data_dir() / "login.json", owner)

    def login_user(
        self,
        tenant: str | None,
        environment: str | None,
        open_browser: Callable[[str], bool],
        show_url: Callable[[str], None],
        timeout: float,
    ) -> Session:
        """`tasteget login`: a browser login to `tenant` (else the configured one), kept."""
        if self.sandbox:
            raise UsageError(_no_sandbox_login())
        so = self.config.superoffice
        so = replace(so, tenant=tenant or so.tenant, environment=environment or so.environment)
        return self.client(settings=so).sign_in(open_browser, show_url, timeout)

    def logout_user(self) -> bool:
        """`tasteget logout`: forgets the login kept here; False when there was none."""
        if self.sandbox:
            raise UsageError(_no_sandbox_login())
        store = self.login_store()
        if store is None:
            return False
        return self.client().sign_out(store.forget)

    def kommun(self, name: str, option: str = "--kommun", also: str = "") -> str:
        """The canonical municipality for `name` (any case), or a usage error naming the
        option it came from and listing them (and `also`, another accepted value)."""
        canonical = kommun_name(name)
        if canonical is None or canonical not in self.config.kommuner:
            valid = ", ".join([*self.config.kommuner, *([also] if also else [])])
            text = _("{option}: unknown municipality {name}; expected one of {valid}")
            raise UsageError(text.format(option=option, name=repr(name), valid=valid))
        return canonical

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.log_handler is not None:
            logging.getLogger("ta_steget_cli").removeHandler(self.log_handler)
            self.log_handler = None


def _no_sandbox_login() -> str:
    return _(
        "--sandbox runs in this process without a browser login; start 'tasteget sandbox serve'"
        ' and sign in to it with a config whose [superoffice] auth is "user"'
    )


def _holds_secret_text(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return False
    return any(marker in text for marker in ("7T:", "8A:", "password", "PRIVATE KEY"))


def parse_day(value: str | None, option: str = "--as-of") -> date | None:
    """A YYYY-MM-DD option value, or a usage error that says what was expected."""
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        text = _("{option}: found {value}, expected a date as YYYY-MM-DD")
        raise UsageError(text.format(option=option, value=repr(value))) from None
    if not day_in_range(day):
        raise UsageError(
            _("{option}: found {value}, expected a date from {first} to {last}").format(
                option=option, value=value, first=EARLIEST_DAY, last=latest_day()
            )
        )
    return day


def as_of_or_today(value: str | None) -> date:
    return parse_day(value) or today_stockholm()


class Terminated(KeyboardInterrupt):
    """SIGTERM (a service manager or `kill` stopping the run): handled like Ctrl-C."""


def interrupted_code(exc: BaseException) -> int:
    """The shell's exit code for a run stopped by a signal: 128 + SIGTERM's 15, or SIGINT's 2."""
    return 143 if isinstance(exc, Terminated) else 130


def same_file(one: Path, other: Path) -> bool:
    """Whether two paths name one file (an input about to be overwritten by an output)."""
    try:
        return one.resolve() == other.resolve() or (one.exists() and one.samefile(other))
    except OSError:
        return False
