"""`doctor` checks the mail side when [notify] is configured (issue 12, item 7): against the
sandbox over HTTP and a real SMTP server (aiosmtpd) on loopback; no mail is ever sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ta_steget_cli.sandbox import SandboxTenant

from .conftest import AS_OF
from .test_notify import PASSWORD, Smtp, free_port, smtp

__all__ = ["smtp"]  # a fixture, used by name

MISSING = ("Berg", "Bräcke", "Härjedalen", "Ragunda", "Strömsund", "Åre")


def doctor(
    sandbox_env: Callable[..., Any], *, password: str | None = None, lang: str = "en", **notify: Any
) -> Any:
    notify = {"transport": "smtp", **notify}
    env = sandbox_env(SandboxTenant(persons=0, today=AS_OF), notify=notify)
    if password is not None:
        env.env["TASTEGET_SMTP_PASSWORD"] = password
    return env.run("--lang", lang, "doctor")


def lines(result: Any, start: str) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith(start)]


def test_smtp_answers_and_accepts_the_login_and_nothing_is_sent(
    sandbox_env: Callable[..., Any], smtp: Callable[..., Smtp]
) -> None:
    server = smtp(login=True)
    result = doctor(sandbox_env, password=PASSWORD, smtp_port=server.port, username="tasteget")
    assert result.exit_code == 0, result.output
    assert (
        f"ok    notify smtp: 127.0.0.1:{server.port} answers, logged in as 'tasteget'; no mail sent"
    ) in result.stdout
    assert server.recorder.delivered == []
    # Every municipality without recipients is a warning of its own; doctor still passes.
    warned = lines(result, "warn")
    assert warned == [
        f"warn  notify recipients {k}: none in [notify.recipients]: its list is not mailed"
        for k in MISSING
    ]
    assert "ok    notify recipients Krokom: flyttvagledare@krokom.example" in result.stdout
    assert "ok    notify recipients region: inflytt@region.example" in result.stdout


def test_doctor_speaks_swedish_by_default(
    sandbox_env: Callable[..., Any], smtp: Callable[..., Smtp]
) -> None:
    server = smtp(login=True)
    result = doctor(
        sandbox_env, password=PASSWORD, smtp_port=server.port, username="tasteget", lang="sv"
    )
    assert result.exit_code == 0, result.output
    assert (
        f"ok    notify smtp: 127.0.0.1:{server.port} svarar, inloggad som 'tasteget'; "
        "ingen e-post har skickats"
    ) in result.stdout
    assert "obs   notify recipients Berg: ingen i [notify.recipients]: listan skickas inte" in (
        result.stdout
    )
    assert "ok    inloggning: " in result.stdout


def test_smtp_down_fails(sandbox_env: Callable[..., Any]) -> None:
    port = free_port()  # nobody listens there
    result = doctor(sandbox_env, smtp_port=port)
    assert result.exit_code == 1, result.output
    (failed,) = lines(result, "FAIL")
    assert failed.startswith(f"FAIL  notify smtp: cannot connect to SMTP server 127.0.0.1:{port}")


def test_refused_login_fails_with_exit_4_and_no_password_shown(
    sandbox_env: Callable[..., Any], smtp: Callable[..., Smtp]
) -> None:
    server = smtp(login=True)
    result = doctor(sandbox_env, password="fel-lösen", smtp_port=server.port, username="tasteget")
    assert result.exit_code == 4, result.output
    (failed,) = lines(result, "FAIL")
    assert failed.startswith("FAIL  notify smtp: SMTP login as 'tasteget' refused")
    assert "fel-lösen" not in result.output


def test_each_missing_setting_fails_on_its_own_line(sandbox_env: Callable[..., Any]) -> None:
    no_sender = doctor(sandbox_env, **{"from": ""})
    assert no_sender.exit_code == 2
    assert "FAIL  notify from: [notify] from is not set: the sender address" in no_sender.stdout
    no_host = doctor(sandbox_env, smtp_host="")
    assert no_host.exit_code == 2
    assert "FAIL  notify smtp_host: [notify] smtp_host is not set" in no_host.stdout
    no_password = doctor(sandbox_env, username="tasteget")
    assert no_password.exit_code == 2
    assert "FAIL  notify password: TASTEGET_SMTP_PASSWORD is not set" in no_password.stdout
    guides = doctor(sandbox_env, per_guide=True, transport="outbox")
    assert "warn  notify guides: per_guide = true but [notify.guides] is empty" in guides.stdout
    assert guides.exit_code == 0, guides.output


def test_without_a_notify_table_doctor_does_not_check_mail(
    sandbox_env: Callable[..., Any], tmp_path: Any
) -> None:
    env = sandbox_env(SandboxTenant(persons=0, today=AS_OF))
    text = env.config_path.read_text(encoding="utf-8")
    cut = text[: text.index("\n[notify]")] + "\n"
    path = tmp_path / "no-notify.toml"
    path.write_text(cut, encoding="utf-8")
    result = env.run("--config", str(path), "doctor")
    assert result.exit_code == 0, result.output
    assert "notify from" not in result.stdout and "notify recipients" not in result.stdout
