"""Read a mass payout recipient list (a CSV file or Python items) and validate it whole.

Accountants export these lists from spreadsheets; games generate them by the 100,000. Every row is
checked before anything starts and every problem is reported at once, each with the row number the
user sees in a spreadsheet, so a list is fixed in one round trip rather than one error per attempt.
Row checks reuse `calypso.currencies`, the same rules the single payout and the workflow apply.

CSV format: columns address, amount, comment, reference (the last two optional); UTF-8 with or
without BOM; `,` or `;` separated (a `;` outside quotes on the first non-blank line picks `;`);
RFC 4180 quoting. An optional header row names the columns, in any order; without one the order
is the one above. Blank lines are skipped but, as in a spreadsheet, still counted as rows.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import MAX_PREC, Decimal, Inexact, localcontext

from calypso.currencies import CURRENCIES, EVM, check_payment, parse_amount

FIELDS = ("address", "amount", "comment", "reference")
# Header names compare lower-cased without ' ', '_', '-': `Deposit Address` is `depositAddress`.
_COLUMN_ALIASES = {
    **dict.fromkeys(("address", "depositaddress", "wallet", "recipient"), "address"),
    "amount": "amount",
    "comment": "comment",
    **dict.fromkeys(("reference", "ref", "merchantreference", "externalid"), "reference"),
}
_SHOWN_ERRORS = 20
# Passed to check_payment when the real amount is missing, so the address still gets checked.
_ANY_VALID_AMOUNT = Decimal(1)


@dataclass(frozen=True)
class MassItem:
    """One recipient; `index` is its 0-based position among the data rows."""

    index: int
    row: int
    address: str
    amount: Decimal
    comment: str | None
    reference: str | None


@dataclass(frozen=True)
class RowProblem:
    """Why a row (or, with `row=None`, the whole list) is refused or worth a warning."""

    row: int | None
    reason: str

    def __str__(self) -> str:
        return self.reason if self.row is None else f"row {self.row}: {self.reason}"


@dataclass(frozen=True)
class ParsedList:
    """The valid recipients, and every error and warning found; start nothing unless `ok`."""

    items: list[MassItem]
    errors: list[RowProblem]
    warnings: list[RowProblem]

    @property
    def total(self) -> Decimal:
        """The exact sum of the valid items' amounts."""
        # The default context keeps 28 digits: large 18-decimal amounts would be rounded.
        with localcontext() as context:
            context.prec = MAX_PREC
            context.traps[Inexact] = True
            return sum((item.amount for item in self.items), Decimal(0))

    @property
    def ok(self) -> bool:
        return not self.errors


class InvalidMassListError(ValueError):
    """Raised when a recipient list has errors; `.errors` holds all of them."""

    def __init__(self, errors: list[RowProblem]) -> None:
        self.errors = list(errors)
        lines = [str(error) for error in errors[:_SHOWN_ERRORS]]
        if len(errors) > _SHOWN_ERRORS:
            lines.append(f"… and {len(errors) - _SHOWN_ERRORS} more")
        super().__init__(f"the recipient list has {len(errors)} error(s):\n" + "\n".join(lines))


class _Checker:
    """Validates recipients one by one in a single pass; duplicates are found through a dict."""

    def __init__(self, currency: str, allow_duplicates: bool) -> None:
        self.currency = currency
        self.allow_duplicates = allow_duplicates
        self.items: list[MassItem] = []
        self.errors: list[RowProblem] = []
        self.warnings: list[RowProblem] = []
        self.count = 0  # data rows seen, valid or not
        self._first_row_of: dict[str, int] = {}
        spec = CURRENCIES.get(currency)
        self._known_currency = spec is not None
        # EVM letter case is only a checksum: 0xAB… and 0xab… are the same wallet.
        self._fold_case = spec is not None and spec.address is EVM
        if spec is None:  # reported once here rather than on every row
            problem = check_payment(currency=currency, address="", amount=_ANY_VALID_AMOUNT)[0]
            self.errors.append(RowProblem(None, str(problem)))

    def reject(self, row: int, reason: str) -> None:
        self.count += 1
        self.errors.append(RowProblem(row, reason))

    def add(
        self,
        row: int,
        address: str,
        amount: Decimal | str,
        comment: str | None,
        reference: str | None,
    ) -> None:
        self.count += 1
        reasons = [] if address else ["missing address"]
        value = _amount(amount, reasons)
        if self._known_currency:
            checked = value if value is not None else _ANY_VALID_AMOUNT
            for problem in check_payment(currency=self.currency, address=address, amount=checked):
                # A missing or unreadable value is already reported above, in plainer words.
                reported = (problem.field == "address" and not address) or (
                    problem.field == "amount" and value is None
                )
                if not reported:
                    reasons.append(str(problem))
        first_row = self._first_row(row, address)
        if first_row is not None:
            duplicate = RowProblem(row, f"address: duplicate of row {first_row}")
            if self.allow_duplicates:
                self.warnings.append(duplicate)
            else:
                reasons.append(duplicate.reason)
        self.errors.extend(RowProblem(row, reason) for reason in reasons)
        if not reasons and value is not None:
            item = MassItem(self.count - 1, row, address, value, comment or None, reference or None)
            self.items.append(item)

    def _first_row(self, row: int, address: str) -> int | None:
        if not address:
            return None
        first = self._first_row_of.setdefault(address.lower() if self._fold_case else address, row)
        return None if first == row else first

    def result(self, *, read_whole_list: bool = True) -> ParsedList:
        if self.count == 0 and read_whole_list:
            self.errors.append(RowProblem(None, "the list has no recipients"))
        return ParsedList(self.items, self.errors, self.warnings)


def _amount(amount: Decimal | str, reasons: list[str]) -> Decimal | None:
    if isinstance(amount, Decimal):
        return amount
    if not isinstance(amount, str):  # e.g. a float from a Python caller: never exact money
        reasons.append(f"amount: must be a Decimal, not {type(amount).__name__}")
        return None
    if not amount:
        reasons.append("missing amount")
        return None
    try:
        return parse_amount(amount)
    except ValueError as error:
        reasons.append(f"amount: {error}")
        return None


def parse_mass_items(
    rows: Iterable[tuple[str, Decimal, str | None, str | None]],
    *,
    currency: str,
    allow_duplicates: bool = False,
) -> ParsedList:
    """Validate the Python API's (address, amount, comment, reference) items; row = position + 1."""
    checker = _Checker(currency, allow_duplicates)
    for position, (address, amount, comment, reference) in enumerate(rows):
        checker.add(position + 1, address.strip(), amount, _text(comment), _text(reference))
    return checker.result()


def _text(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def parse_mass_csv(data: bytes, *, currency: str, allow_duplicates: bool = False) -> ParsedList:
    """Parse and validate a recipients CSV file, given as the raw bytes of the upload."""
    checker = _Checker(currency, allow_duplicates)
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


def _read_rows(text: str, checker: _Checker) -> bool:
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
