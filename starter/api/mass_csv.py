"""Read a mass payout recipient list from a CSV file, checking every row (`mass_rows`).

CSV format: columns address, amount, comment, reference (the last two optional); UTF-8 with or
without BOM; `,` or `;` separated (a `;` outside quotes on the first non-blank line picks `;`);
RFC 4180 quoting. An optional header row names the columns, in any order; without one the order
is the one above. Blank lines are skipped but, as in a spreadsheet, still counted as rows.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator

from calypso.currencies import parse_amount
from starter.api.mass_rows import ParsedList, RowChecker, RowProblem

FIELDS = ("address", "amount", "comment", "reference")
# Header names compare lower-cased without ' ', '_', '-': `Deposit Address` is `depositAddress`.
_COLUMN_ALIASES = {
    **dict.fromkeys(("address", "depositaddress", "wallet", "recipient"), "address"),
    "amount": "amount",
    "comment": "comment",
    **dict.fromkeys(("reference", "ref", "merchantreference", "externalid"), "reference"),
}


def parse_mass_csv(data: bytes, *, currency: str, allow_duplicates: bool = False) -> ParsedList:
    """Parse and validate a recipients CSV file, given as the raw bytes of the upload."""
    checker = RowChecker(currency, allow_duplicates)
    text = _decode(data)
    if isinstance(text, RowProblem):
        return ParsedList([], [*checker.errors, text], [])
    return checker.result(read_whole_list=_read_rows(text, checker))


def _decode(data: bytes) -> str | RowProblem:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return RowProblem(None, "the file is UTF-16; save it as CSV UTF-8")
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[start:].decode("utf-8")
    except UnicodeDecodeError as error:
        offset = start + error.start
        line = data.count(b"\n", 0, offset) + 1
        return RowProblem(
            None,
            f"the file is not valid UTF-8: byte 0x{data[offset]:02x} at offset {offset}"
            f" (line {line})",
        )


def _read_rows(text: str, checker: RowChecker) -> bool:
    """Feed every data row to the checker; False when a bad header made the rows unreadable."""
    layout: list[str | None] | None = None  # the field of each column, fixed by the first row
    for row, cells in _records(text):
        if isinstance(cells, csv.Error):
            checker.reject(row, _explain(cells))
            continue
        cells = _trimmed(cells)
        if not cells:
            continue  # a blank line; a spreadsheet still shows it, so it keeps its row number
        if layout is None:
            if _looks_like_header(cells):
                layout = _header_layout(row, cells, checker.errors)
                if layout is None:
                    return False
                continue
            layout = list(FIELDS)
        if len(cells) > len(layout):
            expected = len(layout)
            checker.reject(row, f"too many columns ({len(cells)}, expected at most {expected})")
            continue
        values = dict(zip(layout, cells, strict=False))
        amount, comment = values.get("amount", ""), values.get("comment")
        checker.add(row, values.get("address", ""), amount, comment, values.get("reference"))
    return True


def _records(text: str) -> Iterator[tuple[int, list[str] | csv.Error]]:
    """Each CSV record with its spreadsheet row number (a quoted multi-line cell is one row)."""
    # strict: an unclosed quote is an error instead of silently swallowing the rest of the file.
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=_delimiter(text),
        skipinitialspace=True,
        strict=True,
    )
    row = 0
    while True:
        row += 1
        try:
            cells: list[str] | csv.Error = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # the reader resumes on the next line
            cells = error
        yield row, cells


def _delimiter(text: str) -> str:
    """`;` when the first non-blank line has one outside quotes (European Excel), else `,`."""
    in_quotes = seen_content = False
    for char in text:
        if char == '"':
            in_quotes = not in_quotes
        elif in_quotes:
            continue
        elif char == ";":
            return ";"
        elif char == "\n" and seen_content:
            break
        seen_content = seen_content or not char.isspace()
    return ","


def _explain(error: csv.Error) -> str:
    if "unexpected end of data" in str(error):
        return 'a quoted field is never closed (missing ")'
    return f"malformed CSV: {error}"


def _trimmed(cells: list[str]) -> list[str]:
    """Cells without surrounding spaces, minus the empty trailing cells spreadsheets append."""
    stripped = [cell.strip() for cell in cells]
    while stripped and not stripped[-1]:
        stripped.pop()
    return stripped


def _canonical(name: str) -> str:
    return name.lower().replace(" ", "").replace("_", "").replace("-", "")


def _looks_like_header(cells: list[str]) -> bool:
    # Data has a number in its second cell. Otherwise, demanding a known name or a row without
    # digits keeps a data row with a typo in its amount ('12,5') from being taken for a header.
    if len(cells) > 1 and _is_number(cells[1]):
        return False
    known = any(_canonical(cell) in _COLUMN_ALIASES for cell in cells)
    return known or not any(char.isdigit() for cell in cells for char in cell)


def _is_number(text: str) -> bool:
    try:
        parse_amount(text)
    except ValueError:
        return False
    return True


def _header_layout(row: int, names: list[str], errors: list[RowProblem]) -> list[str | None] | None:
    """The field of each column, or None when address or amount has no column."""
    layout: list[str | None] = []
    problems: list[str] = []
    unknown = [name for name in names if _canonical(name) not in _COLUMN_ALIASES]
    if unknown:
        shown = ", ".join(repr(name) for name in unknown)
        problems.append(f"unknown column(s) {shown} (expected {', '.join(FIELDS)})")
    for name in names:
        field = _COLUMN_ALIASES.get(_canonical(name))
        if field is not None and field in layout:
            problems.append(f"column {name!r} repeats the {field} column")
            field = None
        layout.append(field)
    missing = [field for field in ("address", "amount") if field not in layout]
    if missing:
        problems.append(f"no {' or '.join(missing)} column")
    errors.extend(RowProblem(row, problem) for problem in problems)
    return None if missing else layout
