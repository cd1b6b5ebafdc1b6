"""Mass payout recipient lists: CSV dialects, headers, every error with its row, duplicates, money.

Row numbers are the ones a spreadsheet shows: the header is row 1 and blank lines still count.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from starter.api.mass_csv import parse_mass_csv
from starter.api.mass_rows import (
    InvalidMassListError,
    ListedRecipient,
    RowProblem,
    parse_mass_items,
)

DATA = Path(__file__).parent / "data"
TRON = "TJRyWwFs9wTFGZg3JbrVriFbNfCug5tDeC"
TRON_2 = "TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf"
EVM = "0x" + "ab" * 20
BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def usdt(text: str, **options: bool) -> list[str]:
    """Parse a USDT_TRX list and return its errors as the user reads them."""
    return [
        str(error) for error in parse_mass_csv(text.encode(), currency="USDT_TRX", **options).errors
    ]


def tron(number: int) -> str:
    """A distinct, well-shaped Tron address for each number."""
    digits = ""
    while number:
        number, digit = divmod(number, 58)
        digits = BASE58[digit] + digits
    return "T" + digits.rjust(33, "1")


def test_semicolon_excel_export_with_bom_header_and_quotes() -> None:
    parsed = parse_mass_csv(
        (DATA / "salaries_excel_semicolon_bom.csv").read_bytes(), currency="USDT_TRX"
    )
    assert parsed.errors == [] and parsed.warnings == []
    assert parsed.items == [
        ListedRecipient(0, 2, TRON, Decimal("1250.50"), "Salary; March", "emp-001"),
        ListedRecipient(1, 4, TRON_2, Decimal("980"), 'Ann "Annie" Lee', "emp-002"),
    ]


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["no-bom", "bom"])
@pytest.mark.parametrize("header", ["", "address,amount\n"], ids=["no-header", "header"])
def test_bom_is_not_part_of_the_first_cell(bom: bytes, header: str) -> None:
    parsed = parse_mass_csv(bom + f"{header}{TRON},10\n".encode(), currency="USDT_TRX")
    assert parsed.errors == []
    assert [(item.address, item.row) for item in parsed.items] == [(TRON, 1 + bool(header))]


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_comma_and_semicolon_delimiters(delimiter: str) -> None:
    text = delimiter.join([TRON, "12.5", "bonus", "ref-1"]) + "\r\n"
    parsed = parse_mass_csv(text.encode(), currency="USDT_TRX")
    assert parsed.items == [ListedRecipient(0, 1, TRON, Decimal("12.5"), "bonus", "ref-1")]


def test_semicolon_inside_quotes_does_not_make_it_the_delimiter() -> None:
    parsed = parse_mass_csv(f'{TRON},3,"a;b"\n'.encode(), currency="USDT_TRX")
    assert parsed.errors == []
    assert parsed.items[0].comment == "a;b"


def test_quoted_fields_keep_delimiters_quotes_and_newlines() -> None:
    text = f'{TRON},1,"Salary, March ""final""","multi\nline ref"\n{TRON_2},2\nT1,3\n'
    parsed = parse_mass_csv(text.encode(), currency="USDT_TRX")
    assert parsed.items[0].comment == 'Salary, March "final"'
    assert parsed.items[0].reference == "multi\nline ref"
    # A cell spanning two lines is still one spreadsheet row.
    assert [item.row for item in parsed.items] == [1, 2]
    assert [str(error) for error in parsed.errors] == ["row 3: address: 'T1' is not a Tron address"]


def test_unclosed_quote_is_an_error_not_a_swallowed_file() -> None:
    errors = usdt(f'{TRON},1,"oops\n{TRON_2},2\n')
    assert errors == ['row 1: a quoted field is never closed (missing ")']


def test_blank_lines_are_skipped_but_counted_and_whitespace_trimmed() -> None:
    text = f"\n  address , amount , comment \n\n   \n,,,\n  {TRON} ;  0.5 ; hi  \n\n{TRON_2};x\n"
    parsed = parse_mass_csv(text.replace(",", ";").encode(), currency="USDT_TRX")
    assert parsed.items == [ListedRecipient(0, 6, TRON, Decimal("0.5"), "hi", None)]
    assert [str(error) for error in parsed.errors] == ["row 8: amount: 'x' is not a number"]


def test_without_header_columns_are_address_amount_comment_reference() -> None:
    parsed = parse_mass_csv(f"{TRON},7,a comment,a-ref\n".encode(), currency="USDT_TRX")
    assert parsed.items == [ListedRecipient(0, 1, TRON, Decimal("7"), "a comment", "a-ref")]


def test_header_columns_in_any_order_with_aliases() -> None:
    text = f"ExternalId,Comment,Amount,depositAddress\nr-9,tip,4,{TRON}\n"
    parsed = parse_mass_csv(text.encode(), currency="USDT_TRX")
    assert parsed.items == [ListedRecipient(0, 2, TRON, Decimal("4"), "tip", "r-9")]


@pytest.mark.parametrize(
    "address", ["address", "ADDRESS", "wallet", "Recipient", "deposit_address"]
)
@pytest.mark.parametrize("reference", ["reference", "ref", "merchant_reference", "externalId"])
def test_header_aliases(address: str, reference: str) -> None:
    parsed = parse_mass_csv(f"{reference},amount,{address}\nx,1,{TRON}\n".encode(), currency="TRX")
    assert parsed.errors == []
    assert (parsed.items[0].address, parsed.items[0].reference) == (TRON, "x")


def test_unknown_header_columns_are_named_and_rows_still_checked() -> None:
    errors = usdt(f"address,amount,name,email\n{TRON},1,Ann,a@x\n{TRON_2},-1,Bo,b@x\n")
    assert errors == [
        "row 1: unknown column(s) 'name', 'email' (expected address, amount, comment, reference)",
        "row 3: amount: must be greater than 0",
    ]


def test_header_without_amount_column_stops_at_the_header() -> None:
    assert usdt(f"wallet,comment\n{TRON},hi\n") == ["row 1: no amount column"]


def test_repeated_header_column() -> None:
    errors = usdt(f"address,amount,wallet\n{TRON},1,{TRON_2}\n")
    assert errors == ["row 1: column 'wallet' repeats the address column"]


def test_first_data_row_with_a_bad_amount_is_not_taken_for_a_header() -> None:
    assert usdt(f"{TRON};12,5\n") == ["row 1: amount: '12,5' is not a number"]


def test_data_row_whose_comment_is_a_column_name_is_not_a_header() -> None:
    parsed = parse_mass_csv(f"{TRON},1,comment\n".encode(), currency="USDT_TRX")
    assert parsed.errors == [] and parsed.items[0].comment == "comment"


@pytest.mark.parametrize(
    ("line", "error"),
    [
        (f"{TRON},12;5", "row 2: amount: '12;5' is not a number"),
        ("T123,5", "row 2: address: 'T123' is not a Tron address"),
        (f"{EVM},5", f"row 2: address: '{EVM}' is not a Tron address"),
        (
            f"{TRON},1.1234567",
            "row 2: amount: 1.1234567 has more than the 6 decimals USDT_TRX allows",
        ),
        (f"{TRON},0", "row 2: amount: must be greater than 0"),
        (f"{TRON},-3", "row 2: amount: must be greater than 0"),
        (f"{TRON},NaN", "row 2: amount: 'NaN' is not a finite number"),
        (f"{TRON}", "row 2: missing amount"),
        (f"{TRON},  ,note", "row 2: missing amount"),
        (",5", "row 2: missing address"),
        (f"{TRON},1,c,r,extra", "row 2: too many columns (5, expected at most 4)"),
        (f'{TRON},"1" 2', "row 2: malformed CSV: ',' expected after '\"'"),
    ],
)
def test_each_bad_row_kind_with_its_row_number(line: str, error: str) -> None:
    assert usdt(f"{TRON_2},1\n{line}\n") == [error]


def test_trailing_empty_cells_are_not_extra_columns() -> None:
    assert usdt(f"{TRON};1;;;;;\n") == []


def test_every_bad_row_is_reported_not_only_the_first() -> None:
    parsed = parse_mass_csv((DATA / "rewards_three_bad_rows.csv").read_bytes(), currency="USDT_TRX")
    assert [str(error) for error in parsed.errors] == [
        "row 3: address: 'T123' is not a Tron address",
        "row 7: amount: 1.1234567 has more than the 6 decimals USDT_TRX allows",
        "row 9: missing amount",
    ]
    assert [item.row for item in parsed.items] == [2, 4, 5, 8]
    assert not parsed.ok


def test_all_problems_of_one_row_are_reported() -> None:
    assert usdt("T1,1.1234567\n") == [
        "row 1: address: 'T1' is not a Tron address",
        "row 1: amount: 1.1234567 has more than the 6 decimals USDT_TRX allows",
    ]


def test_unknown_currency_is_reported_once() -> None:
    text = "".join(f"{tron(n)},1\n" for n in range(5)) + "x,oops\n"
    errors = [str(e) for e in parse_mass_csv(text.encode(), currency="DOGECOIN").errors]
    assert len(errors) == 2
    assert errors[0].startswith("currency: unknown currency 'DOGECOIN' (known: BTC, ETH")
    assert errors[1] == "row 6: amount: 'oops' is not a number"


def test_invalid_utf8_names_the_byte_offset() -> None:
    data = f"{TRON},1,ok\n{TRON_2},2,caf".encode() + b"\xe9\n"
    assert usdt_bytes(data) == ["the file is not valid UTF-8: byte 0xe9 at offset 80 (line 2)"]
    assert usdt_bytes(b"\xef\xbb\xbf" + data) == [
        "the file is not valid UTF-8: byte 0xe9 at offset 83 (line 2)"
    ]


def test_utf16_file_is_named_as_such() -> None:
    data = f"{TRON},1\n".encode("utf-16")
    assert usdt_bytes(data) == ["the file is UTF-16; save it as CSV UTF-8"]


def usdt_bytes(data: bytes) -> list[str]:
    return [str(error) for error in parse_mass_csv(data, currency="USDT_TRX").errors]


@pytest.mark.parametrize("text", ["", "\n\n  \n", "\ufeffaddress;amount;comment\r\n\r\n"])
def test_a_list_without_recipients_is_an_error(text: str) -> None:
    assert usdt(text) == ["the list has no recipients"]


def test_duplicate_addresses_are_errors_by_default() -> None:
    text = f"{TRON},1\n{TRON_2},2\n\n{TRON},3\n{TRON},4\n"
    assert usdt(text) == [
        "row 4: address: duplicate of row 1",
        "row 5: address: duplicate of row 1",
    ]


def test_duplicates_can_be_allowed_and_become_warnings() -> None:
    text = f"{TRON},1\n{TRON_2},2\n{TRON},3\n"
    parsed = parse_mass_csv(text.encode(), currency="USDT_TRX", allow_duplicates=True)
    assert parsed.ok
    assert [str(warning) for warning in parsed.warnings] == ["row 3: address: duplicate of row 1"]
    assert [item.amount for item in parsed.items] == [1, 2, 3]


def test_evm_duplicates_ignore_checksum_case() -> None:
    text = f"{EVM},1\n{EVM.upper().replace('0X', '0x')},2\n"
    errors = [str(e) for e in parse_mass_csv(text.encode(), currency="USDT").errors]
    assert errors == ["row 2: address: duplicate of row 1"]


def test_exact_decimals_are_preserved() -> None:
    parsed = parse_mass_csv(f"{TRON},0.000001\n{TRON_2},1.10\n".encode(), currency="USDT_TRX")
    assert [str(item.amount) for item in parsed.items] == ["0.000001", "1.10"]
    wei = "0.000000000000000001"
    eth = parse_mass_csv(f"{EVM},{wei}\n".encode(), currency="ETH")
    assert eth.ok and f"{eth.items[0].amount:f}" == wei


def test_total_is_exact_beyond_the_default_28_digits() -> None:
    big = "1234567890123.123456789012345678"  # 31 significant digits
    text = f"{'0x' + '1' * 40},{big}\n{EVM},0.000000000000000001\n"
    parsed = parse_mass_csv(text.encode(), currency="ETH")
    assert parsed.total == Decimal("1234567890123.123456789012345679")
    assert isinstance(parsed.total, Decimal)


def test_a_100k_row_file_parses_without_errors() -> None:
    rows = [
        f"{tron(n)};{n % 1000 + 1}.{n % 999999 + 1:06d};reward {n};r-{n}" for n in range(100_000)
    ]
    parsed = parse_mass_csv(
        ("address;amount;comment;ref\n" + "\n".join(rows)).encode(), currency="USDT_TRX"
    )
    assert parsed.errors == []
    assert len(parsed.items) == 100_000
    assert (parsed.items[-1].index, parsed.items[-1].row) == (99_999, 100_001)
    expected = sum((Decimal(row.split(";")[1]) for row in rows), Decimal(0))
    assert parsed.total == expected


def test_python_items_get_the_same_validation() -> None:
    parsed = parse_mass_items(
        [
            (TRON, Decimal("1.5"), " hi ", ""),
            ("T1", Decimal("0.0000001"), None, None),
            (f" {TRON} ", Decimal("2"), None, "r"),
            (TRON_2, 2.5, None, None),  # type: ignore[list-item]
        ],
        currency="USDT_TRX",
    )
    assert parsed.items == [ListedRecipient(0, 1, TRON, Decimal("1.5"), "hi", None)]
    assert [str(error) for error in parsed.errors] == [
        "row 2: address: 'T1' is not a Tron address",
        "row 2: amount: 1E-7 has more than the 6 decimals USDT_TRX allows",
        "row 3: address: duplicate of row 1",
        "row 4: amount: must be a Decimal, not float",
    ]
    assert parse_mass_items([], currency="USDT_TRX").errors == [
        RowProblem(None, "the list has no recipients")
    ]


def test_invalid_list_error_lists_the_first_20_then_counts_the_rest() -> None:
    errors = [RowProblem(row, "missing amount") for row in range(1, 26)]
    error = InvalidMassListError(errors)
    assert isinstance(error, ValueError) and error.errors == errors
    lines = str(error).splitlines()
    assert lines[0] == "the recipient list has 25 error(s):"
    assert lines[1:3] == ["row 1: missing amount", "row 2: missing amount"]
    assert lines[20:] == ["row 20: missing amount", "… and 5 more"]
    assert str(RowProblem(None, "the list has no recipients")) == "the list has no recipients"
