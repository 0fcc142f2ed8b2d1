"""The keyring is asked for a secret only when the run needs it, once, and what it gave is
redacted from the logs from then on."""

from __future__ import annotations

import logging

import pytest

from ta_steget_cli import keychain
from ta_steget_cli.config import load_secrets
from ta_steget_cli.errors import ConfigError
from ta_steget_cli.superoffice import RedactSecrets


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names the keyring was asked for, in order, over the test keyring."""
    names: list[str] = []
    real = keychain.get_secret

    def counting(name: str) -> str | None:
        names.append(name)
        return real(name)

    monkeypatch.setattr(keychain, "get_secret", counting)
    return names


def test_loading_secrets_asks_the_keyring_nothing(
    asked: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASTEGET_TICKET", "7T:from-the-environment")
    secrets = load_secrets(None)
    assert secrets.get("TASTEGET_TICKET") == "7T:from-the-environment"
    assert asked == []


def test_a_needed_secret_is_asked_once_and_then_redacted(asked: list[str]) -> None:
    keychain.set_secret("TASTEGET_SMTP_PASSWORD", "kept-in-the-keyring")
    secrets = load_secrets(None)
    redact = RedactSecrets(secrets.all_values)
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "pw kept-in-the-keyring", None, None)
    assert redact.filter(record) and record.getMessage() == "pw kept-in-the-keyring"

    assert secrets.get("TASTEGET_SMTP_PASSWORD") == "kept-in-the-keyring"
    assert secrets.get("TASTEGET_SMTP_PASSWORD") == "kept-in-the-keyring"
    assert secrets.get("TASTEGET_PASSWORD") is None
    assert asked == ["TASTEGET_SMTP_PASSWORD", "TASTEGET_PASSWORD"]
    assert redact.redact("pw kept-in-the-keyring") == "pw ***"


def test_a_ticket_from_the_keyring_that_cannot_be_a_header_is_a_config_error() -> None:
    keychain.set_secret("TASTEGET_TICKET", "7T:two words")
    with pytest.raises(ConfigError, match="TASTEGET_TICKET"):
        load_secrets(None).get("TASTEGET_TICKET")
