"""The config loader: every mistake is one line naming the file, the key, what was found and
what was expected; the CLI turns it into exit 2 without a traceback."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ta_steget_cli import KOMMUNER
from ta_steget_cli.config import (
    Secrets,
    config_path,
    kommun_name,
    load_config,
    load_secrets,
    parse_config,
)
from ta_steget_cli.errors import ConfigError

from .conftest import merge, posix_modes_only, sandbox_document, to_toml

EXAMPLE = Path(__file__).resolve().parents[1] / "config.example.toml"


def write(tmp_path: Path, document: dict, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(to_toml(document), encoding="utf-8")
    return path


def base_document(tmp_path: Path) -> dict:
    return sandbox_document("https://sod2.superoffice.com/Cust12345/api", tmp_path / "data")


def test_example_config_documents_every_municipality() -> None:
    config = load_config(EXAMPLE)
    assert list(config.kommuner) == list(KOMMUNER)
    # The spec's default for people: their own login; system_user is for cron.
    assert config.superoffice.auth == "user"
    assert config.first_response.working_days == 5
    assert config.purge.inactive_years == 5
    assert set(config.notify.recipients) == {*KOMMUNER, "region"}


def test_defaults_fill_everything_but_the_core(tmp_path: Path) -> None:
    document = {
        "superoffice": {"api_url": "https://sod2.superoffice.com/Cust1/api"},
        "kommuner": {k: 100 + i for i, k in enumerate(KOMMUNER)},
        "move_status": {"values": {"moved": 3}},
    }
    config = load_config(write(tmp_path, document))
    assert config.superoffice.page_size == 1000
    assert config.superoffice.requests_per_second == 10.0
    assert config.first_response.since == date(2025, 1, 1)
    assert config.first_response.lookback_days is None
    assert config.first_response.activity_kinds == ("appointment", "document", "chat")
    assert config.purge.max_share == 0.20
    assert config.lang == "sv"


def test_missing_api_url_and_tenant(tmp_path: Path) -> None:
    document = base_document(tmp_path)
    del document["superoffice"]["api_url"]
    path = write(tmp_path, document)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: [superoffice] api_url: found nothing")
    assert "tenant" in message
    assert "\n" not in message


def test_wrong_type_names_key_found_and_expected(tmp_path: Path) -> None:
    document = merge(base_document(tmp_path), {"superoffice": {"page_size": "many"}})
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, document))
    assert "[superoffice] page_size: found 'many' (string), expected an integer from 1 to 5000" in (
        str(caught.value)
    )


def test_out_of_range_number(tmp_path: Path) -> None:
    document = merge(base_document(tmp_path), {"purge": {"max_share": 1.5}})
    with pytest.raises(ConfigError, match=r"\[purge\] max_share: found 1.5 \(number\)"):
        load_config(write(tmp_path, document))


def test_unknown_municipality_lists_the_eight(tmp_path: Path) -> None:
    document = base_document(tmp_path)
    document["kommuner"]["Krokomm"] = 109
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, document))
    message = str(caught.value)
    assert "[kommuner] Krokomm: found 'Krokomm'" in message
    assert "Berg, Bräcke, Härjedalen, Krokom, Ragunda, Strömsund, Åre, Östersund" in message


def test_missing_municipality(tmp_path: Path) -> None:
    document = base_document(tmp_path)
    del document["kommuner"]["Ragunda"]
    with pytest.raises(ConfigError, match=r"\[kommuner\] Ragunda: found nothing"):
        load_config(write(tmp_path, document))


def test_municipality_id_must_be_a_positive_id(tmp_path: Path) -> None:
    document = merge(base_document(tmp_path), {"kommuner": {"Berg": "101"}})
    with pytest.raises(ConfigError, match=r"\[kommuner\] Berg: found '101' \(string\)"):
        load_config(write(tmp_path, document))


def test_municipality_names_match_without_case(tmp_path: Path) -> None:
    document = base_document(tmp_path)
    document["kommuner"] = {k.upper(): v for k, v in document["kommuner"].items()}
    assert list(load_config(write(tmp_path, document)).kommuner) == list(KOMMUNER)
    assert kommun_name("östersund") == "Östersund"
    assert kommun_name("ÅRE") == "Åre"
    assert kommun_name("Stockholm") is None


def test_unknown_activity_kind(tmp_path: Path) -> None:
    document = merge(base_document(tmp_path), {"first_response": {"activity_kinds": ["call"]}})
    with pytest.raises(ConfigError, match=r"\[first_response\] activity_kinds: found 'call'"):
        load_config(write(tmp_path, document))


def test_recipient_must_be_an_address(tmp_path: Path) -> None:
    document = merge(base_document(tmp_path), {"notify": {"recipients": {"Berg": ["nobody"]}}})
    with pytest.raises(ConfigError, match=r"\[notify.recipients\] Berg: found 'nobody'"):
        load_config(write(tmp_path, document))


def test_unquoted_swedish_key_gets_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[kommuner]\nÅre = 107\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r'must be quoted: "Åre" = \.\.\.'):
        load_config(path)


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no config file there"):
        load_config(tmp_path / "nope.toml")


def test_config_path_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = tmp_path / "a.toml"
    monkeypatch.setenv("TASTEGET_CONFIG", str(tmp_path / "b.toml"))
    assert config_path(explicit) == explicit
    assert config_path(None) == tmp_path / "b.toml"
    monkeypatch.delenv("TASTEGET_CONFIG")
    assert config_path(None) == Path(os.environ["XDG_CONFIG_HOME"]) / "tasteget" / "config.toml"


def test_missing_secret_names_the_variable() -> None:
    secrets = load_secrets(None, environ={})
    with pytest.raises(ConfigError) as caught:
        secrets.require("TASTEGET_TICKET", 'auth = "ticket"')
    assert str(caught.value) == (
        'TASTEGET_TICKET is not set in the environment; auth = "ticket" needs it'
    )


def test_secrets_repr_hides_values() -> None:
    secrets = Secrets({"TASTEGET_PASSWORD": "hunter2-secret"})
    assert "hunter2-secret" not in repr(secrets)


@posix_modes_only
def test_secrets_file_must_be_owner_only(tmp_path: Path) -> None:
    secrets_path = tmp_path / "secrets.env"
    secrets_path.write_text("TASTEGET_TICKET=7T:abc\n", encoding="utf-8")
    secrets_path.chmod(0o644)
    document = merge(base_document(tmp_path), {"secrets_file": str(secrets_path)})
    config = load_config(write(tmp_path, document))
    with pytest.raises(ConfigError, match="readable by others"):
        load_secrets(config, environ={})
    secrets_path.chmod(0o600)
    assert load_secrets(config, environ={}).get("TASTEGET_TICKET") == "7T:abc"
    from_env = load_secrets(config, environ={"TASTEGET_TICKET": "7T:env"})
    assert from_env.get("TASTEGET_TICKET") == "7T:env"


def test_cli_reports_config_errors_in_one_line(tmp_path: Path, cli) -> None:
    document = merge(base_document(tmp_path), {"superoffice": {"auth": "password"}})
    path = write(tmp_path, document)
    result = cli("--config", str(path), "doctor")
    assert result.exit_code == 2
    assert (
        "[superoffice] auth: värdet 'password' (text) går inte att använda; ange något av user"
    ) in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_cli_missing_config_file_exit_2(tmp_path: Path, cli) -> None:
    result = cli("--config", str(tmp_path / "absent.toml"), "doctor")
    assert result.exit_code == 2
    assert "här finns ingen inställningsfil" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


toml_scalars = st.one_of(
    st.integers(-(2**31), 2**31),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.text(max_size=20),
    st.lists(st.text(max_size=5), max_size=3),
)


@settings(max_examples=200, deadline=None)
@given(
    section=st.sampled_from(
        ["superoffice", "first_response", "purge", "notify", "move_status", "report", "kommuner"]
    ),
    key=st.sampled_from(
        [
            "page_size",
            "auth",
            "api_url",
            "lookback_days",
            "activity_kinds",
            "max_share",
            "smtp_port",
            "values",
            "field",
            "goals",
            "recipients",
            "Berg",
            "data_dir",
            "starttls",
        ]
    ),
    value=toml_scalars,
)
def test_any_value_either_loads_or_gives_one_config_error(section: str, key: str, value) -> None:
    document = merge(sandbox_document("https://h.example/Cust1/api", Path("/tmp/d")), {})
    document.setdefault(section, {})[key] = value
    try:
        parse_config(document, Path("fuzz.toml"))
    except ConfigError as exc:
        assert "\n" not in str(exc)
        assert str(exc).startswith("fuzz.toml")


def test_mailing_is_refused_as_a_first_response_kind(tmp_path: Path) -> None:
    kinds = ["appointment", "mailing"]
    document = merge(base_document(tmp_path), {"first_response": {"activity_kinds": kinds}})
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, document))
    message = str(caught.value)
    assert (
        "[first_response] activity_kinds: found 'mailing' (string), expected kinds that can be"
        in (message)
    )
    assert "mass mailing" in message and "\n" not in message
    # Only the response rule refuses it: the purge's kinds are as configurable as before.
    document = merge(base_document(tmp_path), {"purge": {"activity_kinds": kinds}})
    assert load_config(write(tmp_path, document)).purge.activity_kinds == tuple(kinds)
