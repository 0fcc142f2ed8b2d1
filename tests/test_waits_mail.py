"""The Monday mail as the agreement means it (issue 12, items 3-6): `notify` through the CLI
against the sandbox tenant over HTTP and a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from .conftest import AS_OF
from .test_notify import KROKOM, REGION, Smtp, at, county_mail, notify, parse, smtp
from .test_overdue import County

__all__ = ["county_mail", "smtp"]  # fixtures, used by name

WEB = "https://sod2.superoffice.com/Cust00000/default.aspx"
NEGATIVE = re.compile(r"(?<![\d-])-\d")


def plain(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def html(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def attachment(message: EmailMessage) -> list[list[str]]:
    (part,) = list(message.iter_attachments())
    data = part.get_payload(decode=True)
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def link(person_id: int) -> str:
    return f"{WEB}?person.main?person_id={person_id}"


def test_the_mail_has_both_sections_weekday_wording_links_and_municipalities(
    county_mail: Callable[..., tuple[Any, County, Smtp]], sandbox_env: Callable[..., Any]
) -> None:
    env, c, server = county_mail()
    env = sandbox_env(
        env.tenant,
        superoffice={"web_url": WEB},
        notify={"transport": "smtp", "smtp_port": server.port},
    )
    result = notify(env)
    assert result.exit_code == 0, result.output

    region = server.recorder.to(REGION)
    text = plain(region)
    assert "Försenade (1)" in text and "Snart försenade – svara senast (1)" in text
    assert text.index("Försenade (1)") < text.index("Snart försenade")
    assert "Svara senast: måndag 16 mars (2 arbetsdagar sen)" in text
    assert "Svara senast: idag, onsdag 18 mars" in text  # due today: in the due-soon section
    assert f"Öppna i SuperOffice: {link(c.region_late)}" in text
    assert f"(person {c.region_today})" in text
    assert not NEGATIVE.search(text)
    page = html(region)
    assert f'<a href="{link(c.region_late)}">Gustav Ingen</a>' in page
    assert "<h2>Snart försenade – svara senast (1)</h2>" in page

    krokom = plain(server.recorder.to(KROKOM))
    assert "Kommuner: Krokom, Östersund" in krokom  # each person's municipalities
    assert "Snart försenade" not in krokom  # nobody in Krokom is due soon
    rows = attachment(server.recorder.to(KROKOM))
    assert rows[0][:3] == ["Person-id", "Namn", "Öppna i SuperOffice"]
    assert rows[1][2] == link(c.ignored)


def test_due_soon_days_and_the_option_choose_who_is_in_the_section(
    county_mail: Callable[..., tuple[Any, County, Smtp]],
) -> None:
    are = {"recipients": {"Åre": ["are@are.example"]}}
    env, _, server = county_mail(**are)  # due_soon_days = 2 by default
    assert notify(env, "--only", "Åre").exit_code == 0
    text = plain(server.recorder.to("are@are.example"))
    assert "Snart försenade – svara senast (1)" in text
    assert "Svara senast: torsdag 19 mars" in text  # due tomorrow
    env0, _, server0 = county_mail(due_soon_days=0, **are)
    assert notify(env0, "--only", "Åre").exit_code == 0
    assert server0.recorder.delivered == []  # nobody overdue or due today in Åre
    assert notify(env0, "--only", "Åre", "--due-soon", "1").exit_code == 0
    assert [d.rcpt_tos for d in server0.recorder.delivered] == [["are@are.example"]]


def test_details_full_names_and_minimal(
    county_mail: Callable[..., tuple[Any, County, Smtp]], sandbox_env: Callable[..., Any]
) -> None:
    env, _, server = county_mail()
    no_number = env.tenant.add_person(
        "Olle", "Utannummer", registered=at("2026-03-09"), kommuner=["Krokom"],
        email="olle@example.se", preferred="phone",
    )  # fmt: skip
    for details in ("names", "full", "minimal"):
        detailed = sandbox_env(
            env.tenant,
            superoffice={"web_url": WEB},
            notify={"transport": "smtp", "smtp_port": server.port, "details": details},
        )
        assert notify(detailed, "--only", "Krokom").exit_code == 0
        message = server.recorder.delivered[-1].message
        text, page, rows = plain(message), html(message), attachment(message)
        everything = text + page + "".join(";".join(r) for r in rows)
        assert link(no_number) in text and link(no_number) in page
        assert f"person {no_number}" in text.lower()
        assert "Kommuner: Krokom" in text
        if details == "minimal":
            assert "Olle" not in everything and "Anna Berg" not in everything
            assert "Registrerad" not in text
            assert rows[0] == [
                "Person-id", "Öppna i SuperOffice", "Kommuner", "Svara senast",
                "Arbetsdagar sen", "Status",
            ]  # fmt: skip
        else:
            assert "Olle Utannummer" in text and "Registrerad: 2026-03-09" in text
        if details == "full":
            assert "Vill bli kontaktad via: telefon (nummer saknas)" in text
            assert "E-post: olle@example.se" in text
            assert "070-111 11 11" in text  # Anna Berg's phone
        else:
            assert "olle@example.se" not in everything and "070-111 11 11" not in everything


def test_the_mail_counts_those_registered_before_since(
    county_mail: Callable[..., tuple[Any, County, Smtp]], sandbox_env: Callable[..., Any]
) -> None:
    env, _, server = county_mail()
    env.tenant.add_person("Gammal", "Anmälan", registered=at("2024-09-02"), kommuner=["Krokom"])
    env.tenant.add_person("Gammal", "Region", registered=at("2024-10-07"))
    assert notify(env).exit_code == 0
    krokom = plain(server.recorder.to(KROKOM))
    assert (
        "Dessutom väntar 1 person som registrerades före 2025-01-01 (den första 2024-09-02). "
        "Visa den med: tasteget overdue --kommun Krokom --since 2024-09-02"
    ) in krokom
    region = plain(server.recorder.to(REGION))
    assert "tasteget overdue --region --since 2024-10-07" in region
    assert "Dessutom" not in plain(server.recorder.to("inflytt@ostersund.example"))


def test_per_guide_mails_each_responsible_guide_their_own_list(
    county_mail: Callable[..., tuple[Any, County, Smtp]],
) -> None:
    env, c, server = county_mail(per_guide=True, guides={"elin nyberg": ["elin@krokom.example"]})
    env.tenant.add_person(
        "Per", "Guidad", registered=at("2026-03-09"), kommuner=["Berg"], our_contact="ANLA"
    )
    result = notify(env)
    assert result.exit_code == 0, result.output
    own = server.recorder.to("elin@krokom.example")
    assert own["Subject"] == (
        "Ta steget: 1 person väntar på första kontakt – elin nyberg (vecka 12)"
    )
    assert [r[0] for r in attachment(own)[1:]] == [str(c.late)]
    assert "Elin Nyberg (vår kontakt)" not in result.stdout
    assert "elin nyberg (vår kontakt): 1 person skickad till 1 mottagare" in result.stdout
    assert "varning: Anna Lind (vår kontakt) har ingen adress i [notify.guides]" in result.stderr
    # The municipalities' lists still go out as before.
    assert server.recorder.to(KROKOM)


def test_outbox_transport_writes_the_messages_instead_of_sending(
    county_mail: Callable[..., tuple[Any, County, Smtp]], tmp_path: Path
) -> None:
    outbox = tmp_path / "ut"
    env, _, server = county_mail(transport="outbox", outbox=str(outbox))
    result = notify(env)
    assert result.exit_code == 0, result.output
    assert server.recorder.delivered == []
    files = sorted(p.name for p in outbox.iterdir())
    assert files == [
        "2026-03-18-krokom.eml", "2026-03-18-ostersund.eml", "2026-03-18-region.eml",
    ]  # fmt: skip
    message = parse((outbox / "2026-03-18-region.eml").read_bytes())
    assert "Snart försenade" in plain(message)
    assert AS_OF.isoformat() in message["X-Tasteget-As-Of"]
