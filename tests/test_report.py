"""`tasteget report` on a hand-built quarter (2025Q4) of an empty sandbox tenant, over real HTTP.

The calendar behind the numbers (October–November 2025 has no Swedish holiday on a weekday):
Krokom
  K1 registered Mon 10-06, answered Wed 10-08 by its guide: 2 working days, due Mon 10-13: in time
  K2 registered Tue 10-07 (also Östersund), answered Thu 10-09: 2 working days, in time
  K3 registered Wed 10-08, only a form confirmation and a mailing: unanswered, due 10-15: late
  K4 registered Fri 10-10, answered Mon 10-13: 1 working day, in time
  -> 4 registrations, 3 in time of 4 assessed = 0.75, median of (2, 2, 1) = 2, 1 unanswered
Östersund
  O1 registered 2025-09-30 22:30 UTC = Wed 10-01 00:30 in Stockholm (so in Q4), answered Thu
     10-02: 1 working day; and K2
  -> 2 registrations, 2 in time = 1.0, median of (1, 2) = 1.5
Region (no municipality)
  R1 registered Mon 11-03 10:00; a document registered at 07:00 that day, before the person
     (not a response), then answered Mon 11-17: 10 working days, due Mon 11-10: late
  -> 1 registration, 0 in time = 0.0, median 10
Not in Q4: X1 registered 2025-12-31 23:30 UTC = 2026-01-01 in Stockholm; X2 on 2025-09-30 12:00.
Total: 6 registrations, 4 in time of 6 = 0.6667, median of (2, 2, 1, 1, 10) = 2, 1 unanswered.

Moves (persons registered in 2024, status "moved" unless said):
  M1 moved to Krokom on 2025-11-15                        -> Krokom, Q4 and 2025
  M2 moved to Åre on 2025-08-01                           -> Åre, 2025 only
  M3 ticked Krokom, no move date, record updated 2025-12-10 -> Krokom, Q4 and 2025 (fallback)
  M4 moved to Krokom on 2024-06-01                        -> neither
  M5 status "planning", move date 2025-11-01              -> not a move
  M6 moved to Östersund on 2026-01-10                     -> neither (after the year)
  -> households moved in Q4: Krokom 2, total 2; moved in 2025: Krokom 2, Åre 1, total 3; with
     `[report] goals` "2025Q4" = 4 the total's goal is 4, share 0.5
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest

from ta_steget_cli.sandbox import SandboxTenant, ids

from .conftest import AS_OF

STOCKHOLM = ZoneInfo("Europe/Stockholm")
DAY = AS_OF.isoformat()
ELNY = ("ELNY", "Elin Nyberg")  # Krokom's move guide
JOLI = ("JOLI", "Johan Lindqvist")  # Östersund's
LEBJ = ("LEBJ", "Lena Björk")  # the region's


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=STOCKHOLM)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def answer(t: SandboxTenant, pid: int, when: str, by: tuple[str, str], kind: str = "appointment"):
    t.add_activity(pid, kind, date=local(when), registered=local(when), registered_by=by)


@pytest.fixture
def quarter() -> SandboxTenant:
    t = SandboxTenant(persons=0, today=AS_OF)
    k1 = t.add_person("K", "Ett", registered=local("2025-10-06T10:00"), kommuner=["Krokom"])
    answer(t, k1, "2025-10-08T09:00", ELNY)
    k2 = t.add_person("K", "Två", registered=local("2025-10-07T09:00"),
                      kommuner=["Krokom", "Östersund"])  # fmt: skip
    answer(t, k2, "2025-10-09T14:00", ELNY, "chat")
    k3 = t.add_person("K", "Tre", registered=local("2025-10-08T11:00"), kommuner=["Krokom"])
    answer(t, k3, "2025-10-08T11:01", ids.FORM_USER, "document")  # the form's confirmation
    answer(t, k3, "2025-10-09T08:00", ids.MAILING_USER, "mailing")
    k4 = t.add_person("K", "Fyra", registered=local("2025-10-10T16:00"), kommuner=["Krokom"])
    answer(t, k4, "2025-10-13T08:30", ELNY, "document")
    answer(t, k4, "2025-10-20T08:30", ELNY)  # a later one does not matter
    o1 = t.add_person("O", "Ett", registered=utc("2025-09-30T22:30:00"), kommuner=["Östersund"])
    answer(t, o1, "2025-10-02T10:00", JOLI, "chat")
    r1 = t.add_person("R", "Ett", registered=local("2025-11-03T10:00"))
    answer(t, r1, "2025-11-03T07:00", LEBJ, "document")  # before the person: not a response
    answer(t, r1, "2025-11-17T13:00", LEBJ)
    t.add_person("X", "Ett", registered=utc("2025-12-31T23:30:00"), kommuner=["Krokom"])
    t.add_person("X", "Två", registered=utc("2025-09-30T12:00:00"), kommuner=["Krokom"])

    old = local("2024-05-01T10:00")
    t.add_person("M", "Ett", registered=old, status="moved", moved_to="Krokom",
                 move_date=date(2025, 11, 15))  # fmt: skip
    t.add_person("M", "Två", registered=old, kommuner=["Krokom"], status="moved",
                 moved_to="Åre", move_date=date(2025, 8, 1))  # fmt: skip
    t.add_person("M", "Tre", registered=old, kommuner=["Krokom"], status="moved",
                 updated=local("2025-12-10T15:00"))  # fmt: skip
    t.add_person("M", "Fyra", registered=old, status="moved", moved_to="Krokom",
                 move_date=date(2024, 6, 1))  # fmt: skip
    t.add_person("M", "Fem", registered=old, status="planning", move_date=date(2025, 11, 1))
    t.add_person("M", "Sex", registered=old, status="moved", moved_to="Östersund",
                 move_date=date(2026, 1, 10))  # fmt: skip
    return t


def rows_by_area(stdout: str) -> dict[str, dict]:
    return {row["kommun"]: row for row in json.loads(stdout)}


def test_quarter_figures_are_exact(sandbox_env, quarter):
    env = sandbox_env(quarter, report={"goals": {"2025Q4": 4}})
    result = env.run("report", "--quarter", "2025Q4", "--as-of", DAY, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = rows_by_area(result.stdout)
    assert list(rows) == [*ids.KOMMUN_INTERESTS, "region", "total"]

    krokom = rows["Krokom"]
    assert krokom == {
        "period": "2025Q4",
        "kommun": "Krokom",
        "registrations": 4,
        "guidance": 4,
        "newsletter_only": 0,
        "magazine_only": 0,
        "newsletter_and_magazine": 0,
        "assessed": 4,
        "answered_within_limit": 3,
        "share_within_limit": 0.75,
        "median_working_days": 2.0,
        "unanswered": 1,
        "households_moved": 2,
        "moved_this_year": 2,
        "subscribers": 0,
        "goal": None,
        "share_of_goal": None,
    }
    ostersund = rows["Östersund"]
    assert (ostersund["registrations"], ostersund["answered_within_limit"]) == (2, 2)
    assert (ostersund["share_within_limit"], ostersund["median_working_days"]) == (1.0, 1.5)
    assert (ostersund["households_moved"], ostersund["moved_this_year"]) == (0, 0)
    assert (rows["Åre"]["households_moved"], rows["Åre"]["moved_this_year"]) == (0, 1)

    region = rows["region"]
    assert (region["registrations"], region["answered_within_limit"]) == (1, 0)
    assert (region["share_within_limit"], region["median_working_days"]) == (0.0, 10.0)
    assert region["unanswered"] == 0

    berg = rows["Berg"]
    assert (berg["registrations"], berg["share_within_limit"], berg["median_working_days"]) == (
        0, None, None
    )  # fmt: skip

    total = rows["total"]
    assert (total["registrations"], total["assessed"], total["answered_within_limit"]) == (6, 6, 4)
    assert total["share_within_limit"] == 0.6667
    assert (total["median_working_days"], total["unanswered"]) == (2.0, 1)
    assert (total["households_moved"], total["moved_this_year"]) == (2, 3)
    assert (total["goal"], total["share_of_goal"]) == (4, 0.5)


def test_running_quarter_leaves_those_not_yet_due_out_of_the_share(sandbox_env):
    """As of Wed 2026-03-18: one registered Mon 03-09 (due Mon 03-16, unanswered: late) and
    one Mon 03-16 (due Mon 03-23: not yet assessed, but still unanswered)."""
    t = SandboxTenant(persons=0, today=AS_OF)
    t.add_person("A", "Sen", registered=local("2026-03-09T10:00"), kommuner=["Berg"])
    t.add_person("B", "Ny", registered=local("2026-03-16T10:00"), kommuner=["Berg"])
    env = sandbox_env(t)
    result = env.run("report", "--quarter", "2026q1", "--as-of", DAY, "--format", "json")
    assert result.exit_code == 0, result.output
    berg = rows_by_area(result.stdout)["Berg"]
    assert (berg["registrations"], berg["assessed"], berg["answered_within_limit"]) == (2, 1, 0)
    assert (berg["share_within_limit"], berg["unanswered"]) == (0.0, 2)
    assert "till och med 2026-03-18" in result.stderr  # the period is not over


def test_year_report_and_default_period(sandbox_env, quarter):
    env = sandbox_env(quarter)
    year = rows_by_area(env.run("report", "--year", "2025", "--as-of", DAY, "-f", "json").stdout)
    # The whole year: X2 (2025-09-30) counts too; moves in the year are moves in the period.
    assert year["total"]["registrations"] == 7
    assert year["total"]["households_moved"] == year["total"]["moved_this_year"] == 3
    # Without --quarter or --year: the last quarter that has ended by the as-of date.
    default = env.run("report", "--as-of", "2026-01-02", "--format", "json")
    assert {r["period"] for r in json.loads(default.stdout)} == {"2025Q4"}


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.links += [v or "" for k, v in attrs if k in ("src", "href")]


def test_html_is_one_self_contained_file_with_an_svg_chart(sandbox_env, quarter, tmp_path):
    env = sandbox_env(quarter, report={"goals": {"2025": 4}})
    out = tmp_path / "rapport.html"
    result = env.run("report", "--quarter", "2025Q4", "--as-of", DAY, "--output", str(out))
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    parser = Tags()
    parser.feed(html)
    assert "svg" in parser.tags and "table" in parser.tags
    assert "script" not in parser.tags and "link" not in parser.tags
    assert parser.links == []  # nothing fetched from elsewhere
    assert '<html lang="sv">' in html and "Nya registreringar" in html
    assert "Flyttade hushåll 2025 till och med 2025-12-31: 3 av målet 4 (75 %)" in html
    for svg in re.findall(r"<svg.*?</svg>", html, flags=re.S):
        ET.fromstring(svg)  # each chart is well-formed SVG
    charts = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    chart = ET.fromstring(next(c for c in charts if "per kommun" in c))
    titles = [el.text for el in chart.iter("{http://www.w3.org/2000/svg}title")]
    assert "Krokom: 4" in titles and "Krokom: 2" in titles


@pytest.mark.parametrize(
    ("lang", "region"),
    [("sv", "Regionen (ingen kommun vald)"), ("en", "The region (no municipality chosen)")],
)
def test_the_region_is_named_as_in_the_mail_and_the_status_list(sandbox_env, quarter, lang, region):
    args = ("--lang", lang, "report", "--quarter", "2025Q4", "--as-of", DAY, "-f", "html")
    result = sandbox_env(quarter).run(*args)
    assert result.exit_code == 0, result.output
    assert region in result.stdout


def test_bad_periods_are_usage_errors(sandbox_env, quarter):
    env = sandbox_env(quarter)
    for args in (
        ("--quarter", "2025Q5"),
        ("--quarter", "Q3"),
        ("--quarter", "2025Q3", "--year", "2025"),
        ("--year", "2027"),  # starts after the as-of date
    ):
        result = env.run("report", *args, "--as-of", DAY, "--format", "json")
        assert result.exit_code == 2, (args, result.output)
        assert result.stdout == ""
        assert "Traceback" not in result.output
