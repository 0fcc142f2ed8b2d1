"""`tasteget doctor` (and `doctor --probe`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from .. import doctor
from ..doctor_mail import mail_checks
from ..errors import TastegetError, UsageError
from ..i18n import N_, _
from .options import AsOfOption
from .runtime import Runtime, as_of_or_today

ProbeOption = Annotated[
    bool,
    typer.Option(
        "--probe",
        help="Also check on the tenant, reading only, every assumption the commands make "
        "about SuperOffice (query shapes, filter semantics, value encodings, dates, logins, "
        "rights).",
    ),
]
RecordOption = Annotated[
    Path | None,
    typer.Option(
        "--record",
        help="With --probe: write the shapes of SuperOffice's answers to this JSON file, "
        "with every personal text replaced by a placeholder.",
        metavar="FILE",
        show_default=False,
    ),
]


# The outcome of a check, in a column of its own (the probe's findings use the same words).
OK, WARN, FAIL = N_("ok"), N_("warn"), N_("FAIL")


def line(level: str, name: str, detail: object) -> str:
    """One check as printed: 'ok    config: /etc/tasteget.toml'."""
    return f"{_(level):<4}  {name}: {detail}"


def label(check: doctor.Check) -> str:
    if not check.ok:
        return FAIL
    return WARN if check.warning else OK


def doctor_command(
    ctx: typer.Context,
    probe: ProbeOption = False,
    record: RecordOption = None,
    as_of: AsOfOption = None,
) -> None:
    """Check the config, the connection, the credentials and every configured id."""
    runtime: Runtime = ctx.obj
    if record is not None and not probe:
        raise UsageError(_("--record: only with --probe"))
    day = as_of_or_today(as_of)
    where = _("built-in sandbox config") if runtime.sandbox else _("config")
    try:
        config = runtime.config
    except TastegetError as exc:
        typer.echo(line(FAIL, _("config"), exc))
        raise typer.Exit(exc.exit_code) from None
    typer.echo(line(OK, _("config"), config.path or where))
    try:
        client = runtime.client(day)
    except TastegetError as exc:
        typer.echo(line(FAIL, _("credentials"), exc))
        raise typer.Exit(exc.exit_code) from None
    recording = _start_recording(client) if record is not None else None
    checks = doctor.run_checks(client, config)
    if config.notify.configured:
        password = runtime.secrets().get("TASTEGET_SMTP_PASSWORD")
        checks += mail_checks(config.notify, config.kommuner, password)
    for check in checks:
        typer.echo(line(label(check), check.name, check.detail))
    code = doctor.exit_code(checks)
    if probe and not code:
        code = _probe(client, config, day)
    if recording is not None and record is not None:
        recording.write(record)
        written = _("{count} answers written to {file}").format(
            count=len(recording.exchanges), file=record
        )
        typer.echo(line(OK, _("record"), written))
    if code:
        raise typer.Exit(code)


def _probe(client: Any, config: Any, day: Any) -> int:
    from ..probe import probe_exit_code, run_probe
    from ..register import Register

    findings = run_probe(client, Register(client, config, day))
    for finding in findings:
        typer.echo(line(finding.level, finding.name, finding.detail))
    return probe_exit_code(findings)


def _start_recording(client: Any) -> Any:
    from ..recording import Recording

    recording = Recording()

    def keep(request: Any, path: str, response: Any) -> None:
        recording.add(
            request.method,
            path,
            dict(response.request.url.params),
            request.data,
            request.json_body,
            response.status_code,
            response.headers,
            response.content,
        )

    client.recorder = keep
    return recording


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor_command)
