"""PersonEntity, reference lists and JSON Patch, shaped like SuperOffice's Swagger definitions."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from . import ids
from .encoded import decode_date, encode_datetime, encode_udf_date, fraction_text
from .oidc import LoginUser
from .realism import Realism, localized
from .records import FORM, NEVER, SYSTEM, USERS, Person, iso

PERSINT: dict[int, str] = {
    **{item: name for name, item in ids.KOMMUN_INTERESTS.items()},
    **ids.OTHER_INTERESTS,
}
LIST_ITEMS: dict[int, dict[int, str]] = {
    ids.MOVE_STATUS_LIST: dict(ids.MOVE_STATUS_NAMES),
    ids.MOVED_TO_LIST: {item: name for name, item in ids.MOVED_TO_VALUES.items()},
    ids.PREFERRED_CONTACT_LIST: dict(ids.PREFERRED_CONTACT_NAMES),
}
# ProgId -> (label, field type, list id or 0)
UDEFS: dict[str, tuple[str, str, int]] = {
    ids.MOVE_STATUS_FIELD: ("Flyttstatus", "List", ids.MOVE_STATUS_LIST),
    ids.MOVED_TO_FIELD: ("Flyttat till", "List", ids.MOVED_TO_LIST),
    ids.MOVE_DATE_FIELD: ("Flyttdatum", "Date", 0),
    ids.PREFERRED_CONTACT_FIELD: ("Kontaktväg", "List", ids.PREFERRED_CONTACT_LIST),
}
WRITABLE = ("Firstname", "Lastname", "NoMailing", "CustomFields")


class PatchError(ValueError):
    """A patch SuperOffice would refuse; `status` is 400 or 409."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------- reading


def associate(associate_id: int | None) -> dict[str, Any] | None:
    user = USERS.get(associate_id or 0)
    if user is None:
        return None
    return {
        "AssociateId": user[0],
        "Name": user[1],
        "PersonId": 0,
        "Rank": user[0],
        "Tooltip": user[2],
        "Type": "SystemAssociate" if user in (FORM, SYSTEM) else "InternalAssociate",
        "GroupIdx": 1,
        "FullName": user[2],
        "FormalName": user[2],
        "Deleted": False,
        "EjUserId": 0,
        "UserName": user[1],
        "ExtraFields": {},
        "CustomFields": {},
    }


def _element(value: str | None, description: str) -> list[dict[str, Any]]:
    if not value:
        return []
    stripped = re.sub(r"[^\d+@.\w]", "", value) if "@" not in value else value
    return [{"Value": value, "StrippedValue": stripped, "Description": description}]


def interests(
    person: Person, realism: Realism | None = None, language: str | None = None
) -> list[dict[str, Any]]:
    realism = realism or Realism.friendly()
    return [
        {
            "Id": item,
            "Name": localized(name, language, realism),
            "ToolTip": "",
            "Deleted": False,
            "Rank": rank,
            "Type": "",
            "ColorBlock": 0,
            "IconHint": "",
            "Selected": item in person.interests,
            "LastChanged": NEVER,
            "ChildItems": [],
            "ExtraInfo": "",
            "StyleHint": "",
            "Hidden": False,
            "FullName": localized(name, language, realism),
        }
        for rank, (item, name) in enumerate(PERSINT.items(), 1)
    ]


def _consent(person: Person, purpose: str, legal: str, registered: int) -> dict[str, Any]:
    purposes = {"STORE": (1, "Lagring"), "EMARKETING": (2, "E-marknadsföring")}
    legal_bases = {"CONSENT": (1, "Samtycke"), "WITHDRAWN": (5, "Återkallat")}
    return {
        "ConsentPersonId": person.id * 10 + purposes[purpose][0],
        "Comment": "",
        "Registered": iso(person.registered),
        "RegisteredAssociateId": FORM[0],
        "Updated": iso(registered),
        "UpdatedAssociateId": FORM[0],
        "LegalBaseId": legal_bases[legal][0],
        "LegalBaseKey": legal,
        "LegalBaseName": legal_bases[legal][1],
        "ConsentPurposeId": purposes[purpose][0],
        "ConsentPurposeKey": purpose,
        "ConsentPurposeName": purposes[purpose][1],
        "ConsentSourceId": 1,
        "ConsentSourceKey": "FORM",
        "ConsentSourceName": "Formulär",
    }


def consents(person: Person) -> list[dict[str, Any]]:
    out = [_consent(person, "STORE", "CONSENT", person.registered)]
    if person.consent:
        legal = "CONSENT" if person.consent == "active" else "WITHDRAWN"
        out.append(_consent(person, "EMARKETING", legal, person.consent_at))
    return out


def _list_values(person: Person) -> dict[str, int | None]:
    return {
        ids.MOVE_STATUS_FIELD: person.status,
        ids.MOVED_TO_FIELD: person.moved_to,
        ids.PREFERRED_CONTACT_FIELD: person.preferred,
    }


def custom_fields(
    person: Person, realism: Realism | None = None, language: str | None = None
) -> dict[str, str]:
    """CustomFields as a real PersonEntity has them: the value, `:org` (the value as read) and,
    for lists, `:DisplayText` and `:DisplayTooltip` (docs/api/custom-objects/index.md in
    SuperOfficeDocs/superoffice-docs shows these keys)."""
    realism = realism or Realism.friendly()
    out: dict[str, str] = {}
    for prog_id, item in _list_values(person).items():
        names = LIST_ITEMS[UDEFS[prog_id][2]]
        out[prog_id] = f"[I:{item or 0}]"
        out[f"{prog_id}:org"] = f"[I:{item or 0}]"
        out[f"{prog_id}:DisplayText"] = localized(names.get(item or 0, ""), language, realism)
        if realism.encoded_dates:
            out[f"{prog_id}:DisplayTooltip"] = ""
    if realism.encoded_dates:
        out[ids.MOVE_DATE_FIELD] = encode_datetime(person.move_date)
        out[f"{ids.MOVE_DATE_FIELD}:org"] = out[ids.MOVE_DATE_FIELD]
    else:
        out[ids.MOVE_DATE_FIELD] = f"[D:{person.move_date:%Y.%m.%d}]" if person.move_date else ""
    return out


def user_defined_fields(
    person: Person, realism: Realism | None = None, language: str | None = None
) -> dict[str, str]:
    """UserDefinedFields: the UDEFs alone, dates with the D marker."""
    realism = realism or Realism.friendly()
    if not realism.encoded_dates:
        return {}
    out: dict[str, str] = {}
    for prog_id, item in _list_values(person).items():
        names = LIST_ITEMS[UDEFS[prog_id][2]]
        out[prog_id] = f"[I:{item or 0}]"
        out[f"{prog_id}:DisplayText"] = localized(names.get(item or 0, ""), language, realism)
        out[f"{prog_id}:DisplayTooltip"] = ""
    out[ids.MOVE_DATE_FIELD] = encode_udf_date(person.move_date)
    return out


def updated_text(person: Person, realism: Realism | None) -> str:
    text = iso(person.updated)
    if realism is not None and realism.update_precision == "fraction":
        from .variants import fraction_ticks

        text += fraction_text(fraction_ticks(person))
    return text


def person_entity(
    person: Person, realism: Realism | None = None, language: str | None = None
) -> dict[str, Any]:
    created_by = FORM[0] if person.form else SYSTEM[0]
    return {
        "PersonId": person.id,
        "Firstname": person.first,
        "MiddleName": "",
        "Lastname": person.last,
        "Mrmrs": "",
        "Title": "",
        "UpdatedDate": updated_text(person, realism),
        "CreatedDate": iso(person.registered),
        "BirthDate": NEVER,
        "CreatedBy": associate(created_by),
        "Emails": _element(person.email, "Privat"),
        "Description": "",
        "IsAssociate": False,
        "PrivatePhones": _element(person.phone, "Hem"),
        "Faxes": [],
        "MobilePhones": _element(person.mobile, "Mobil"),
        "OfficePhones": [],
        "OtherPhones": [],
        "Position": None,
        "UpdatedBy": associate(SYSTEM[0]),
        "Contact": None,
        "Country": None,
        "Interests": interests(person, realism, language),
        "PersonNumber": "",
        "FullName": person.full_name,
        "NoMailing": person.no_mail,
        "UsePersonAddress": False,
        "Retired": False,
        "Urls": [],
        "FormalName": person.full_name,
        "Post3": "",
        "Post2": "",
        "Post1": "",
        "Kanalname": "",
        "Kanafname": "",
        "CorrespondingAssociate": None,
        "Category": None,
        "Business": None,
        "Associate": associate(person.associate),
        "Salutation": "",
        "ActiveInterests": len(person.interests),
        "SupportAssociate": None,
        "DbiAgentId": 0,
        "DbiKey": "",
        "SentInfo": 0,
        "ShowContactTickets": 0,
        "ChatEmails": [],
        "InternetPhones": [],
        "Source": 0,
        "ActiveErpLinks": 0,
        "ShipmentTypes": [],
        "Consents": consents(person),
        "BounceEmails": [],
        "ActiveStatusMonitorId": 0,
        "CreatedByFormId": person.form or 0,
        "LeadstatusId": 0,
        "UserDefinedFields": user_defined_fields(person, realism, language),
        "ExtraFields": {},
        "CustomFields": custom_fields(person, realism, language),
        # What the signed-in user may do with this record (the system user: everything).
        "TableRight": {"Mask": "Select, Update, Insert, Delete, Filtering", "Reason": ""},
        "FieldProperties": {},
    }


def _mdo_item(
    item: int, name: str, rank: int, children: list[dict[str, Any]], full_name: str
) -> dict[str, Any]:
    return {
        "Id": item,
        "Name": name,
        "ToolTip": "",
        "Deleted": False,
        "Rank": rank,
        "Type": "",
        "ChildItems": children,
        "IconHint": "",
        "ColorBlock": 0,
        "ExtraInfo": "",
        "StyleHint": "",
        "FullName": full_name,
    }


# Headings of the interest list; heading items are not interests and carry ids of their own
# (negative here, so that a client that takes them for interests finds ids no person has).
INTEREST_HEADINGS: dict[int, tuple[str, tuple[int, ...]]] = {
    -1: ("Kommuner", tuple(ids.KOMMUN_INTERESTS.values())),
    -2: ("Utskick och övrigt", ()),  # every other interest
}


def mdo_persint(
    realism: Realism | None = None, language: str | None = None
) -> list[dict[str, Any]]:
    """`MDOList/persint`: flat, or (as a real tenant with headings) items under headings."""
    realism = realism or Realism.friendly()
    texts = {item: localized(name, language, realism) for item, name in PERSINT.items()}
    if not realism.interest_headings:
        return [
            _mdo_item(item, texts[item], rank, [], texts[item])
            for rank, item in enumerate(PERSINT, 1)
        ]
    placed = {i for _, members in INTEREST_HEADINGS.values() for i in members}
    out = []
    for rank, (heading_id, (heading, members)) in enumerate(INTEREST_HEADINGS.items(), 1):
        chosen = members or tuple(i for i in PERSINT if i not in placed)
        children = [
            _mdo_item(item, texts[item], n, [], f"{heading}/{texts[item]}")
            for n, item in enumerate(chosen, 1)
        ]
        out.append(_mdo_item(heading_id, heading, rank, children, heading))
    return out


def udef_layout() -> list[dict[str, Any]]:
    out = []
    for number, (prog_id, (label, field_type, list_id)) in enumerate(UDEFS.items(), 1):
        out.append(
            {
                "UDefFieldId": 100 + number,
                "ColumnId": int(prog_id.rsplit(":", 1)[1]),
                "FieldDefault": "",
                "FieldHeight": 20,
                "FieldLabel": label,
                "FieldLeft": 0,
                "FieldTop": number * 24,
                "FieldType": field_type,
                "FieldWidth": 200,
                "FormatMask": "",
                "HideLabel": False,
                "IsIndexed": True,
                "LabelHeight": 20,
                "LabelLeft": 0,
                "LabelTop": number * 24,
                "LabelWidth": 100,
                "LastVersionId": 1,
                "ListTableId": 136 if list_id else 0,
                "IsMandatory": False,
                "Type": "Person",
                "Page1LineNo": number,
                "ProgId": prog_id,
                "IsReadOnly": False,
                "ShortLabel": label,
                "TabOrder": number,
                "TextLength": 0,
                "Tooltip": label,
                "UdefIdentity": 100 + number,
                "UDListDefinitionId": list_id,
                "Justification": "Default",
                "Version": 1,
                "TemplateVariableName": f"pu{number:02d}",
                "HasBeenPublished": True,
                "MdoListName": f"udlist{list_id}" if list_id else "",
            }
        )
    return out


def list_items(
    list_id: int, realism: Realism | None = None, language: str | None = None
) -> list[dict[str, Any]] | None:
    realism = realism or Realism.friendly()
    items = LIST_ITEMS.get(list_id)
    if items is None:
        return None
    return [
        {
            "Id": item,
            "Name": localized(name, language, realism),
            "Deleted": False,
            "Tooltip": "",
            "Rank": rank,
            "UdListDefinitionId": list_id,
        }
        for rank, (item, name) in enumerate(items.items(), 1)
    ]


def current_principal(user: LoginUser | None = None) -> dict[str, Any]:
    """Who the caller is: a person signed in through OpenID Connect, or the system user."""
    if user is not None:
        return {
            "AssociateId": user.associate_id,
            "UserName": user.login,
            "FullName": user.full_name,
            "PersonId": 0,
            "ContactId": 0,
            "ContextIdentifier": ids.CONTEXT_IDENTIFIER,
            "UserType": "InternalAssociate",
            "IsSystemUser": False,
            "EMailAddress": user.email,
        }
    return {
        "AssociateId": SYSTEM[0],
        "UserName": SYSTEM[1],
        "FullName": "Systemanvändare Sandbox",
        "PersonId": 0,
        "ContactId": 0,
        "ContextIdentifier": ids.CONTEXT_IDENTIFIER,
        "UserType": "SystemAssociate",
        "IsSystemUser": True,
    }


# ---------------------------------------------------------------- JSON Patch


def apply_patch(person: Person, operations: Any, realism: Realism | None = None) -> bool:
    """Apply a JSON Patch to a person, all or nothing; True if anything was written."""
    if not isinstance(operations, list):
        raise PatchError("The body must be a JSON Patch: a list of operations")
    entity = person_entity(person, realism)
    changes: dict[str, Any] = {}
    for number, operation in enumerate(operations):
        op, path, value = _operation(operation, number)
        if op == "test":
            current = changes.get(path, entity.get(path))
            if path not in entity or current != value:
                raise PatchError(f"Test failed at operation {number}: '{path}' has changed", 409)
        else:
            changes[path] = _checked(path, value, changes.get(path, entity.get(path)))
    for path, value in changes.items():
        _write(person, path, value)
    return bool(changes)


def _operation(operation: Any, number: int) -> tuple[str, str, Any]:
    if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
        raise PatchError(f"Operation {number} is not an object with 'op' and 'path'")
    op, path = operation["op"], operation["path"]
    if op not in ("test", "replace", "add"):
        raise PatchError(f"Operation '{op}' is not supported (test, replace, add)")
    if not isinstance(path, str) or "/" in path.lstrip("/") or not path.strip("/"):
        raise PatchError(f"Path '{path}' is not a top-level property of PersonEntity")
    if "value" not in operation:
        raise PatchError(f"Operation {number} has no 'value'")
    path = path.lstrip("/")
    if op != "test" and path not in WRITABLE:
        raise PatchError(f"Path '{path}' cannot be changed with PATCH")
    return op, path, operation["value"]


def _checked(path: str, value: Any, current: Any) -> Any:
    if path in ("Firstname", "Lastname"):
        if not isinstance(value, str) or not value.strip():
            raise PatchError(f"'{path}' must be a non-empty string")
        return value
    if path == "NoMailing":
        if not isinstance(value, bool):
            raise PatchError("'NoMailing' must be true or false")
        return value
    if not isinstance(value, dict):
        raise PatchError("'CustomFields' must be an object of ProgId -> value")
    merged = dict(current)
    for key, text in value.items():
        merged[key] = _custom_value(key, text)
    return merged


def _custom_value(key: str, text: Any) -> str:
    if key.endswith((":org", ":DisplayText", ":DisplayTooltip")):
        raise PatchError(f"CustomFields key '{key}' is read-only; send only the ProgId")
    if key not in UDEFS:
        raise PatchError(f"Unknown custom field '{key}' (published: {', '.join(UDEFS)})")
    _, field_type, list_id = UDEFS[key]
    if not isinstance(text, str):
        raise PatchError(
            f"CustomFields '{key}' must be a string like '[I:123]' or "
            "'[DT:08/27/2025 00:00:00.0000000]'"
        )
    if field_type == "List":
        match = re.fullmatch(r"\[I:(\d+)\]", text)
        if text == "" or (match and int(match.group(1)) == 0):
            return "[I:0]"
        if not match or int(match.group(1)) not in LIST_ITEMS[list_id]:
            raise PatchError(f"'{text}' is not an item of the list of '{key}'")
        return text
    # NetServer takes a date in any of the encoded layouts, or not encoded at all.
    day = decode_date(text)
    if day == "bad":
        raise PatchError(
            f"'{text}' is not a date like '[DT:08/27/2025 00:00:00.0000000]' for '{key}'"
        )
    return encode_datetime(day) if isinstance(day, date) else ""


def _write(person: Person, path: str, value: Any) -> None:
    if path == "Firstname":
        person.first = value
    elif path == "Lastname":
        person.last = value
    elif path == "NoMailing":
        person.no_mail = value
    else:
        person.status = _item(value[ids.MOVE_STATUS_FIELD])
        person.moved_to = _item(value[ids.MOVED_TO_FIELD])
        person.preferred = _item(value[ids.PREFERRED_CONTACT_FIELD])
        person.move_date = _day(value[ids.MOVE_DATE_FIELD])


def _item(text: str) -> int | None:
    return int(text[3:-1]) or None


def _day(text: str) -> date | None:
    day = decode_date(text)
    return day if isinstance(day, date) else None
