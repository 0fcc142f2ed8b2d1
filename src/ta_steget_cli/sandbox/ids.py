"""The sandbox tenant's fixed identifiers: its ids, credentials and users.

Both the sandbox tenant and the `--sandbox` config read them from here, so the two cannot drift.
None of these are secrets: the sandbox holds only made-up people and runs on loopback.
"""

from __future__ import annotations

CONTEXT_IDENTIFIER = "Cust00000"
TICKET = "7T:dGFzdGVnZXQtc2FuZGJveC10aWNrZXQ="
APP_TOKEN = "sandbox-app-token"
CLIENT_ID = "sandbox-client-id"
SYSTEM_TOKEN = "Sandbox-SystemToken-8b1f"
ACCESS_TOKEN = "8A:dGFzdGVnZXQtc2FuZGJveC1hY2Nlc3M="
BASIC_USER = "sandbox"
BASIC_PASSWORD = "sandbox"

# persint list items: one interest per municipality, the newsletter, the magazine and two more.
KOMMUN_INTERESTS: dict[str, int] = {
    "Berg": 101,
    "Bräcke": 102,
    "Härjedalen": 103,
    "Krokom": 104,
    "Ragunda": 105,
    "Strömsund": 106,
    "Åre": 107,
    "Östersund": 108,
}
NEWSLETTER_INTEREST = 110
MAGAZINE_INTEREST = 113
OTHER_INTERESTS: dict[int, str] = {
    110: "Nyhetsbrev",
    111: "Jobb i länet",
    112: "Boende",
    113: "Magasinet Ta steget",
}
# What the forms record for people who asked only for the newsletter or the magazine: they
# asked for no move guidance ([first_response] no_response_interests).
NO_RESPONSE_INTERESTS = (NEWSLETTER_INTEREST, MAGAZINE_INTEREST)

# Person UDEF fields (ProgId -> list definition id) and their list items.
MOVE_STATUS_FIELD = "SuperOffice:7"
MOVE_STATUS_LIST = 40
MOVE_STATUS_VALUES: dict[str, int] = {
    "interested": 201,
    "planning": 202,
    "moved": 203,
    "not_moving": 204,
}
MOVE_STATUS_NAMES: dict[int, str] = {
    201: "Intresserad",
    202: "Planerar flytt",
    203: "Har flyttat",
    204: "Flyttar inte",
}
MOVED_TO_FIELD = "SuperOffice:8"
MOVED_TO_LIST = 41
MOVED_TO_VALUES: dict[str, int] = {name: 300 + i for i, name in enumerate(KOMMUN_INTERESTS, 1)}
MOVE_DATE_FIELD = "SuperOffice:9"
PREFERRED_CONTACT_FIELD = "SuperOffice:10"
PREFERRED_CONTACT_LIST = 42
PREFERRED_CONTACT_VALUES: dict[str, int] = {"phone": 401, "email": 402}
PREFERRED_CONTACT_NAMES: dict[int, str] = {401: "Telefon", 402: "E-post"}

# Users who register activities. FORM and MAIL are not move guides: their activities are
# never a first response (FORM via ignore_registered_by, MAIL because mailings do not count).
# Forms and integrations register as a system login like `sysCust25708` (recorded answers of a
# real tenant; superoffice-contract.md, PersonActivity `registeredBy`), not as a readable name.
FORM_USER = ("sysCust00000", "Formulär")
MAILING_USER = ("MAIL", "Utskick")
SYSTEM_USER = ("SYS", "Systemanvändare")

# Move guides (made up): (associate id, login, full name, municipality or "region").
# One or two per municipality, and two at the region, so every area has someone to answer.
MOVE_GUIDES: tuple[tuple[int, str, str, str], ...] = (
    (11, "ANLA", "Anna Lind", "Berg"),
    (12, "BOSV", "Bo Svedin", "Bräcke"),
    (13, "CEHO", "Cecilia Holm", "Härjedalen"),
    (14, "DAEK", "David Ek", "Härjedalen"),
    (15, "ELNY", "Elin Nyberg", "Krokom"),
    (16, "FRAS", "Fredrik Åslund", "Ragunda"),
    (17, "GUST", "Gunilla Ström", "Strömsund"),
    (18, "HAOL", "Hanna Olsson", "Åre"),
    (19, "IDPE", "Ida Persson-Öhman", "Åre"),
    (20, "JOLI", "Johan Lindqvist", "Östersund"),
    (21, "KAMA", "Karin Malm", "Östersund"),
    (22, "LEBJ", "Lena Björk", "region"),
    (23, "MANO", "Magnus Norén", "region"),
)
# The region's CRM administrators (made up): (associate id, login, full name). With the move
# guides they can sign in through the sandbox's OpenID Connect login, all with LOGIN_PASSWORD.
ADMINISTRATORS: tuple[tuple[int, str, str], ...] = ((30, "ADMN", "Alva Adminsson"),)
LOGIN_PASSWORD = "sandbox"
ADMIN_FUNCTION_RIGHT = "admin-all"
# Associate ids of the non-guide users above (FORM_USER, MAILING_USER, SYSTEM_USER).
FORM_ASSOCIATE_ID = 2
MAILING_ASSOCIATE_ID = 3
SYSTEM_ASSOCIATE_ID = 1
# Forms that create persons (createdByForm list items).
FORMS: dict[int, str] = {1: "Intresseanmälan tasteget.nu", 2: "Kontakt via kommunens webbplats"}
RETENTION_DAYS = 14
