"""Golden tests of SuperOffice's encoded values (issue 11, item 1), each from where it is
documented or seen."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal

import pytest

from ta_steget_cli import i18n
from ta_steget_cli.superoffice.values import (
    UNSET,
    EncodedValueError,
    decode,
    decode_date,
    decode_item,
    encode_date,
    encode_item,
    plain_text,
    same_value,
)

ENCODED_VALUES = (
    "SuperOfficeDocs/superoffice-docs docs/api/netserver/archive-providers/encoded-values.md"
)
ERP_FORMATS = (
    "SuperOfficeDocs/superoffice-docs "
    "docs/api/netserver/erp-connectors/api/field-value-formats-and-conventions.md"
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("[D:09.11.2017]", date(2017, 11, 9)),
        ("[DT:11/09/2017 14:53:18]", datetime(2017, 11, 9, 14, 53, 18)),
        ("[F:123.4]", 123.4),
        ("[I:123]", 123),
        ("[M:123.45]", Decimal("123.45")),
        ("[T:14:52]", time(14, 52)),
        ("Not encoded", "Not encoded"),
    ],
)
def test_every_form_on_the_encoded_values_page(text: str, value: object) -> None:
    """The table of markers on SuperOffice's "Encoded values" page (ENCODED_VALUES): B, D, DT, F,
    I, M, T and strings, which are never encoded."""
    assert decode(text) == value


def test_binary_is_kept_as_sent() -> None:
    """`[B:X98…]` (ENCODED_VALUES) documents no layout for the bytes: kept as the text sent."""
    assert decode("[B:X98]") == "X98"


def test_the_encoders_datetime_layout_and_its_unset_date() -> None:
    """CultureDataFormatter.EncodeDateTime writes "[DT:12/31/2013 23:59:59.0000000]"
    (ERP_FORMATS); SuperOffice's Table/ReadRow example (docs/api/.../DatabaseTable_Agent) shows
    `"dbi_last_syncronized": "[DT:01/01/0001 00:00:00.0000000]"` for a date never set."""
    assert decode("[DT:12/31/2013 23:59:59.0000000]") == datetime(2013, 12, 31, 23, 59, 59)
    assert decode("[DT:01/01/0001 00:00:00.0000000]") is UNSET
    assert decode_date("[DT:08/27/2025 00:00:00.0000000]") == date(2025, 8, 27)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("[D:01/26/2022 00:01:00.0000000]", date(2022, 1, 26)),  # UserDefinedFields, real tenant
        ("[D:01/01/0001 00:00:00.0000000]", None),  # the same, unset
        ("[D:2025.08.27]", date(2025, 8, 27)),  # yyyy.MM.dd (the old contract)
        ("[D:27.08.2025]", date(2025, 8, 27)),  # dd.MM.yyyy (ENCODED_VALUES)
        ("[D:08/27/2025]", date(2025, 8, 27)),  # MM/dd/yyyy without a time
        ("2025-08-27T00:00:00", date(2025, 8, 27)),  # an archive's ISO datetime
        ("0001-01-01T00:00:00", None),  # the archive's never-set date
        ("", None),
        ("[D:]", None),
        ("[D:2025.02.30]", None),  # no such day
        ("Intresserad", None),
    ],
)
def test_every_date_layout(text: str, day: date | None) -> None:
    """Layouts from ENCODED_VALUES, ERP_FORMATS and real entities (superoffice-contract.md §4)."""
    assert decode_date(text) == day


def test_a_claimed_encoding_that_does_not_hold_is_an_error() -> None:
    with pytest.raises(EncodedValueError):
        decode("[I:abc]")
    with pytest.raises(EncodedValueError):
        decode("[DT:13/45/2025 00:00:00]")


@pytest.mark.parametrize(
    ("lang", "said"),
    [("sv", "'[I:abc]' är inte ett giltigt I-värde"), ("en", "'[I:abc]' is not a valid I value")],
)
def test_the_error_is_said_in_the_run_s_language(lang: str, said: str) -> None:
    i18n.set_language(lang)  # conftest's english_messages sets it back
    with pytest.raises(EncodedValueError, match=re.escape(said)):
        decode("[I:abc]")


def test_list_items_and_their_absence() -> None:
    """CustomFields hold list items as `[I:123]` (NSPersonEntity.GetCustomFields in
    SuperOfficeDocs/superoffice-docs docs/automation/crmscript/api-reference/classes/
    NSPersonEntity/GetCustomFields.md); `[I:0]` is no item."""
    assert decode_item("[I:103]") == 103
    assert decode_item("[I:0]") is None and decode_item("") is None and decode_item(None) is None
    assert encode_item(103) == "[I:103]"


def test_dates_are_written_as_the_encoder_writes_them() -> None:
    """ERP_FORMATS: "[DT:12/31/2013 23:59:59.0000000]"; a date field holds midnight."""
    assert encode_date(date(2013, 12, 31)) == "[DT:12/31/2013 00:00:00.0000000]"
    assert encode_date(date(2025, 8, 7)) == "[DT:08/07/2025 00:00:00.0000000]"
    assert decode_date(encode_date(date(1999, 1, 2))) == date(1999, 1, 2)


def test_values_compare_decoded_not_as_text() -> None:
    """The same date in two encodings is the same value, so a write can be skipped."""
    assert same_value("[D:09.11.2017]", "[DT:11/09/2017 00:00:00.0000000]")
    assert same_value("[D:2025.8.7]", "[DT:08/07/2025 00:00:00.0000000]")
    assert same_value("[I:0]", "") and same_value("", "[DT:01/01/0001 00:00:00.0000000]")
    assert not same_value("[I:201]", "[I:202]")
    assert not same_value("[D:2025.08.27]", "[DT:08/28/2025 00:00:00.0000000]")


def test_multi_language_texts() -> None:
    """CultureDataFormatter's page (docs/.../culturedataformatter.md) shows the stored
    `US:"Legal";NO:"Lovlig";`; Accept-Language asks for one language."""
    stored = 'US:"Legal";NO:"Lovlig";'
    assert plain_text(stored, "NO") == "Lovlig"
    assert plain_text(stored, "sv") == "Legal"  # no Swedish: the first one
    assert plain_text("Intresserad", "sv") == "Intresserad"
