"""The report that tells the truth (issue 13 item 3), through the CLI over real HTTP: no goal
unless configured for the period, the deduplicated total and its note, subscribers at the end
of the period, four quarters side by side, HTML that fits 800 pixels and A4, and the mail.

Reuses test_report's hand-built 2025Q4 (Krokom 4, Östersund 2 of whom one also Krokom,
the region 1: 7 choices, 6 persons; 2 households moved in Q4, 3 in 2025).
"""

from __future__ import annotations

import email
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from email import policy
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from ta_steget_cli.sandbox import SandboxTenant, ids

from .test_report import DAY, local, quarter  # noqa: F401 - the fixture

SUBSCRIBERS = {"Krokom": 2, "Östersund": 1, "region": 1, "total": 3}


@pytest.fixture
def with_subscribers(quarter: SandboxTenant) -> SandboxTenant:  # noqa: F811
    """Subscribers registered by the end of 2025Q4: S1 (consent, Krokom and Östersund), S2
    (newsletter interest, Krokom), S3 (consent, the region); a withdrawn consent and one who
    subscribed after the quarter do not count."""
    t = quarter
    t.add_person("S", "Ett", registered=local("2024-02-01T10:00"), kommuner=["Krokom", "Östersund"],
                 emarketing="active")  # fmt: skip
    t.add_person("S", "Två", registered=local("2025-12-30T10:00"), kommuner=["Krokom"],
                 interests=[ids.NEWSLETTER_INTEREST])  # fmt: skip
    t.add_person("S", "Tre", registered=local("2023-05-01T10:00"), emarketing="active")
    t.add_person("S", "Fyra", registered=local("2024-02-01T10:00"), kommuner=["Krokom"],
                 emarketing="withdrawn")  # fmt: skip
    t.add_person("S", "Fem", registered=local("2026-01-05T10:00"), kommuner=["Krokom"],
                 emarketing="active")  # fmt: skip
    return t


def rows(result: Any) -> dict[str, dict[str, Any]]:
    assert result.exit_code == 0, result.output
    return {r["kommun"]: r for r in json.loads(result.stdout)}


def run_q4(env: Any, *extra: str) -> Any:
    return env.run("report", "--quarter", "2025Q4", "--as-of", DAY, *extra)


# ---------------------------------------------------------------- goals


def test_no_goal_unless_one_is_configured_for_the_period(sandbox_env, quarter) -> None:  # noqa: F811
    env = sandbox_env(quarter)
    total = rows(run_q4(env, "-f", "json"))["total"]
    assert (total["goal"], total["share_of_goal"]) == (None, None)
    table = run_q4(env, "-f", "table")
    html = run_q4(env, "-f", "html").stdout
    for text in (table.stdout, html):
        assert "målet" not in text and "400" not in text
    # A goal for another year is not this period's.
    other = sandbox_env(quarter, report={"goals": {"2026": 120}})
    assert "målet" not in run_q4(other, "-f", "table").stdout


def test_a_goal_is_shown_for_its_period_with_the_period_in_its_label(sandbox_env, quarter) -> None:  # noqa: F811
    env = sandbox_env(quarter, report={"goals": {"2025Q4": 2, "2025": 6}})
    total = rows(run_q4(env, "-f", "json"))["total"]
    assert (total["goal"], total["share_of_goal"]) == (2, 1.0)
    table = " ".join(run_q4(env, "-f", "table").stdout.split())
    assert "Flyttade hushåll 2025Q4: 2 av målet 2 (100 %)" in table
    assert "Flyttade hushåll 2025 till och med 2025-12-31: 3 av målet 6 (50 %)" in table
    year = env.run("report", "--year", "2025", "--as-of", DAY, "-f", "table")
    assert "Flyttade hushåll 2025: 3 av målet 6 (50 %)" in " ".join(year.stdout.split())


def test_goals_must_name_a_year_or_a_quarter(sandbox_env, quarter) -> None:  # noqa: F811
    env = sandbox_env(quarter, report={"goals": {"2025-Q9": 4}})
    result = run_q4(env, "-f", "json")
    assert result.exit_code == 2
    assert "[report.goals] 2025-Q9" in result.output and "Traceback" not in result.output


# ---------------------------------------------------------------- counting people once


def test_the_total_counts_each_person_once_and_a_note_says_so(sandbox_env, quarter) -> None:  # noqa: F811
    env = sandbox_env(quarter)
    result = run_q4(env, "-f", "json")
    by_area = rows(result)
    ticks = sum(r["registrations"] for k, r in by_area.items() if k != "total")
    assert (ticks, by_area["total"]["registrations"]) == (7, 6)
    note = "Totalt räknar varje person en gång: 6 personer registrerade sig, 7 val av kommun"
    assert note in result.stderr
    assert note in " ".join(run_q4(env, "-f", "table").stdout.split())
    assert note in run_q4(env, "-f", "html").stdout


def test_subscribers_at_the_end_of_the_period(sandbox_env, with_subscribers) -> None:
    env = sandbox_env(with_subscribers)
    by_area = rows(run_q4(env, "-f", "json"))
    assert {k: by_area[k]["subscribers"] for k in SUBSCRIBERS} == SUBSCRIBERS
    assert by_area["Berg"]["subscribers"] == 0


# ---------------------------------------------------------------- the trend


def test_trend_gives_the_last_four_quarters_and_the_chart_shows_them(
    sandbox_env,
    with_subscribers,
) -> None:
    env = sandbox_env(with_subscribers)
    result = run_q4(env, "--trend", "-f", "json")
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    totals = {r["period"]: r for r in records if r["kommun"] == "total"}
    assert list(totals) == ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]
    assert totals["2025Q3"]["registrations"] == 1  # X2, 2025-09-30
    assert totals["2025Q4"]["registrations"] == 7  # with S2
    assert totals["2025Q3"]["households_moved"] == 1  # M2 to Åre, 2025-08-01
    # Subscribers grow as people register: S1 and S3 (Q1..Q3), then S2 (Q4).
    assert [totals[q]["subscribers"] for q in totals] == [2, 2, 2, 3]
    html = run_q4(env, "--trend", "-f", "html").stdout
    assert "Senaste fyra kvartalen" in html
    charts = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    trend = next(c for c in charts if "per kvartal" in c)
    for label in ("2025Q1", "2025Q2", "2025Q3", "2025Q4"):
        assert f">{label}</text>" in trend
    assert "<title>2025Q4: 7</title>" in trend
    table = run_q4(env, "--trend", "-f", "table").stdout
    assert re.search(r"Nya registreringar\s+0\s+0\s+1\s+7\n", table)


# ---------------------------------------------------------------- fits 800 pixels and A4


class Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[int] = []
        self.svgs: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append(0)
        elif tag in ("td", "th"):
            self.rows[-1] += 1
        elif tag == "svg":
            self.svgs.append(dict(attrs))


def test_html_width_check(sandbox_env, quarter) -> None:  # noqa: F811
    """Without a browser: no table wider than 8 columns, body at most A4's printable width,
    every chart a scalable viewBox no wider than 800 px, an A4 page rule."""
    env = sandbox_env(quarter, report={"goals": {"2025": 4}})
    html = run_q4(env, "--trend", "-f", "html").stdout
    parser = Tables()
    parser.feed(html)
    assert parser.rows and max(parser.rows) <= 8
    assert "max-width: 180mm" in html and "@page { size: A4" in html
    assert "width: 100%" in html
    for svg in parser.svgs:
        box = svg.get("viewbox")  # HTMLParser lower-cases attribute names
        assert box, svg
        assert int(box.split()[2]) <= 800


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


MEASURE = (
    "<script>document.body.setAttribute('data-scroll-width', "
    "document.documentElement.scrollWidth)</script></body>"
)


def layout_width(html: str, width: int, folder: Path) -> int:
    """The page's scroll width in headless Chromium with a `width`-pixel window."""
    page = folder / f"measure-{width}.html"
    page.write_text(html.replace("</body>", MEASURE), encoding="utf-8")
    browser = chromium()
    assert browser is not None
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={folder / 'profile'}", f"--window-size={width},1000",
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    match = re.search(r'data-scroll-width="(\d+)"', done.stdout)
    assert match, done.stderr[-2000:]
    return int(match.group(1))


@pytest.mark.skipif(chromium() is None, reason="no headless Chromium (apt-get install chromium)")
def test_html_fits_an_800_pixel_window_and_a4_in_a_real_browser(
    sandbox_env,
    quarter,  # noqa: F811
    tmp_path: Path,
) -> None:
    env = sandbox_env(quarter, report={"goals": {"2025": 4}})
    html = run_q4(env, "--trend", "-f", "html").stdout
    assert layout_width(html, 800, tmp_path) <= 800
    # A4's printable width with 15 mm margins: 180 mm = 680 CSS pixels.
    assert layout_width(html, 680, tmp_path) <= 680


# ---------------------------------------------------------------- the mail


def eml_parts(path: Path) -> Iterator[Any]:
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    yield message
    yield from message.walk()


def test_report_mail_dry_run_writes_a_message_with_the_html_attached(
    sandbox_env,
    quarter,  # noqa: F811
    tmp_path: Path,
) -> None:
    env = sandbox_env(quarter, report={"recipients": ["styrgrupp@region.example",
                                                      "kansli@krokom.example"]})  # fmt: skip
    outbox = tmp_path / "outbox"
    result = run_q4(env, "--mail", "--dry-run", "--outbox", str(outbox))
    assert result.exit_code == 0, result.output
    (path,) = outbox.glob("*.eml")
    assert str(path) in result.stdout and "--dry-run, inget skickat" in result.stdout
    message, *parts = eml_parts(path)
    assert message["To"] == "styrgrupp@region.example, kansli@krokom.example"
    assert message["Subject"] == "Ta steget – rapport 2025Q4"
    files = {p.get_filename(): p for p in parts if p.get_filename()}
    assert set(files) == {"rapport-2025q4.html", "rapport-2025q4.csv"}
    html = files["rapport-2025q4.html"].get_content()
    html = html.decode("utf-8") if isinstance(html, bytes) else html
    assert "<svg" in html and "Ta steget – rapport 2025Q4" in html
    csv_text = files["rapport-2025q4.csv"].get_content()
    csv_text = csv_text.decode("utf-8-sig") if isinstance(csv_text, bytes) else csv_text
    assert csv_text.lstrip("\ufeff").startswith("period,kommun,registrations")
    assert "2025Q4,total,6," in csv_text


def test_report_mail_without_recipients_is_a_config_error(sandbox_env, quarter) -> None:  # noqa: F811
    env = sandbox_env(quarter)
    result = run_q4(env, "--mail", "--dry-run")
    assert result.exit_code == 2
    assert "[report] recipients" in result.output


Received = list[tuple[str, list[str], bytes]]


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Received]]:
    """An aiosmtpd server on loopback: its port and what it received."""
    from aiosmtpd.controller import Controller

    from .test_notify import free_port

    received: Received = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, received
    finally:
        controller.stop()


def mail_q4(make_env: Any, tenant: SandboxTenant, transport: str, port: int) -> tuple[Any, Any]:
    """report --mail to one recipient with this transport and SMTP port: the env, the result."""
    env = make_env(
        tenant,
        report={"recipients": ["styrgrupp@region.example"]},
        notify={"transport": transport, "smtp_port": port},
    )
    result = run_q4(env, "--mail")
    assert result.exit_code == 0, result.output
    return env, result


def attachment_names(message: Any) -> set[str]:
    return {p.get_filename() for p in message.walk() if p.get_filename()}


def test_report_mail_is_sent_over_smtp(sandbox_env, quarter, smtp_server) -> None:  # noqa: F811
    port, received = smtp_server
    _env, result = mail_q4(sandbox_env, quarter, "smtp", port)
    assert "skickad till 1 mottagare" in result.stdout
    ((sender, recipients, content),) = received
    assert (sender, recipients) == ("tasteget@region.example", ["styrgrupp@region.example"])
    message = email.message_from_bytes(content, policy=policy.default)
    assert attachment_names(message) == {"rapport-2025q4.html", "rapport-2025q4.csv"}


def test_report_mail_with_the_outbox_transport_writes_the_eml_and_sends_nothing(
    sandbox_env,
    quarter,  # noqa: F811
    smtp_server,
) -> None:
    """[notify] transport = "outbox" (the sandbox's config) holds for report --mail as for
    notify: the message goes into [notify] outbox, even with an SMTP server listening."""
    port, received = smtp_server
    env, result = mail_q4(sandbox_env, quarter, "outbox", port)
    assert received == []
    (path,) = (env.data_dir.parent / "outbox").glob("*.eml")
    assert str(path) in result.stdout
    assert '[notify] transport = "outbox", inget skickat' in result.stdout
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message["To"] == "styrgrupp@region.example"
    assert attachment_names(message) == {"rapport-2025q4.html", "rapport-2025q4.csv"}


# ---------------------------------------------------------------- what people asked for

NO_RESPONSE = {"first_response": {"no_response_interests": [ids.NEWSLETTER_INTEREST,
                                                            ids.MAGAZINE_INTEREST]}}  # fmt: skip


@pytest.fixture
def with_purposes(quarter: SandboxTenant) -> SandboxTenant:  # noqa: F811
    """In 2025Q4, unanswered: P1 Krokom + the newsletter only, P2 Krokom + the magazine only,
    P3 no municipality + both, P4 Krokom + the newsletter and jobs (asked for more: waits)."""
    t = quarter
    t.add_person("P", "Ett", registered=local("2025-11-04T10:00"), kommuner=["Krokom"],
                 interests=[ids.NEWSLETTER_INTEREST])  # fmt: skip
    t.add_person("P", "Två", registered=local("2025-11-04T11:00"), kommuner=["Krokom"],
                 interests=[ids.MAGAZINE_INTEREST])  # fmt: skip
    t.add_person("P", "Tre", registered=local("2025-11-05T10:00"),
                 interests=[ids.NEWSLETTER_INTEREST, ids.MAGAZINE_INTEREST])  # fmt: skip
    t.add_person("P", "Fyra", registered=local("2025-11-05T11:00"), kommuner=["Krokom"],
                 interests=[ids.NEWSLETTER_INTEREST, 111])  # fmt: skip
    return t


def test_registrations_are_split_by_what_people_asked_for(sandbox_env, with_purposes) -> None:
    env = sandbox_env(with_purposes, **NO_RESPONSE)
    by_area = rows(run_q4(env, "-f", "json"))
    split = ("registrations", "guidance", "newsletter_only", "magazine_only",
             "newsletter_and_magazine")  # fmt: skip
    assert [by_area["Krokom"][k] for k in split] == [7, 5, 1, 1, 0]
    assert [by_area["region"][k] for k in split] == [2, 1, 0, 0, 1]
    assert [by_area["total"][k] for k in split] == [10, 7, 1, 1, 1]
    # Only those who asked for guidance wait: P4 is late, P1 and P2 are not counted.
    krokom = by_area["Krokom"]
    assert (krokom["assessed"], krokom["answered_within_limit"], krokom["unanswered"]) == (5, 3, 2)
    html = run_q4(env, "-f", "html").stdout
    assert "Bara nyhetsbrevet" in html and "Bara magasinet" in html
    table = run_q4(env, "-f", "table").stdout
    assert "Vill ha" in table and "flyttvägledning" in table  # the heading wraps at 80 columns


def test_the_retired_yearly_goal_is_no_goal_and_says_so(sandbox_env, quarter) -> None:  # noqa: F811
    """A config from before (`yearly_goal = 400`) still loads, shows no goal, and is told why."""
    env = sandbox_env(quarter, report={"yearly_goal": 400})
    result = run_q4(env, "-f", "table")
    assert result.exit_code == 0, result.output
    assert "[report] yearly_goal" in result.stderr and "[report] goals" in result.stderr
    assert "målet" not in result.stdout and "400" not in result.stdout
