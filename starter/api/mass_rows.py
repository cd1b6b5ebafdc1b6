"""Validate a mass payout recipient list row by row, and report every problem at once.

Accountants export these lists from spreadsheets; games generate them by the 100,000. Every row is
checked before anything starts and every problem is reported at once, each with the row number the
user sees in a spreadsheet, so a list is fixed in one round trip rather than one error per attempt.
Row checks reuse `calypso.currencies`, the same rules the single payout and the workflow apply.
`parse_mass_items` checks Python items; `starter.api.mass_csv` reads a CSV file into the same
checker.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import MAX_PREC, Decimal, Inexact, localcontext

from calypso.currencies import CURRENCIES, EVM, check_payment, parse_amount

_SHOWN_ERRORS = 20
# Passed to check_payment when the real amount is missing, so the address still gets checked.
_ANY_VALID_AMOUNT = Decimal(1)


@dataclass(frozen=True)
class ListedRecipient:
    """One recipient as read from a list or CSV, before it becomes a saga item: `index` is its
    0-based position among the data rows, `row` its row number as a spreadsheet counts rows."""

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

    items: list[ListedRecipient]
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
    """Raised when a recipient list has errors; `.errors` (also `.problems`, as on
    `InvalidPayoutError`) holds all of them, the message the first `_SHOWN_ERRORS` and a count."""

    def __init__(self, errors: list[RowProblem]) -> None:
        self.errors = list(errors)
        self.problems = self.errors
        lines = [str(error) for error in errors[:_SHOWN_ERRORS]]
        if len(errors) > _SHOWN_ERRORS:
            lines.append(f"… and {len(errors) - _SHOWN_ERRORS} more")
        super().__init__(f"the recipient list has {len(errors)} error(s):\n" + "\n".join(lines))


class RowChecker:
    """Validates recipients one by one in a single pass; duplicates are found through a dict."""

    def __init__(self, currency: str, allow_duplicates: bool) -> None:
        self.currency = currency
        self.allow_duplicates = allow_duplicates
        self.items: list[ListedRecipient] = []
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
            item = ListedRecipient(
                self.count - 1, row, address, value, comment or None, reference or None
            )
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
    checker = RowChecker(currency, allow_duplicates)
    for position, (address, amount, comment, reference) in enumerate(rows):
        checker.add(position + 1, address.strip(), amount, _text(comment), _text(reference))
    return checker.result()


def _text(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None
