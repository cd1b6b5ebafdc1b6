"""One process of the race test: `count` reservations of 1 on one sub-account, eight at a time
over its own connection pool, reporting what became of each."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from decimal import Decimal

from activities.ledger import InsufficientLedgerFundsError, PostgresLedger, ReserveRequest

RACE_ACCOUNT = ("race", "USDT_TRX")


@dataclass
class RaceOutcome:
    reserved: int = 0
    refused: int = 0
    refusals_clean: bool = True  # every refusal named the account and 1 needed
    other_errors: list[str] = field(default_factory=list)


def reserve_many(dsn: str, worker: int, count: int) -> RaceOutcome:
    return asyncio.run(_reserve_many(dsn, worker, count))


async def _reserve_many(dsn: str, worker: int, count: int) -> RaceOutcome:
    ledger = PostgresLedger(dsn, max_connections=8)
    outcome = RaceOutcome()
    gate = asyncio.Semaphore(8)

    async def one(n: int) -> None:
        request = ReserveRequest(
            key=f"race-{worker}-{n}",
            sub_account=RACE_ACCOUNT[0],
            currency=RACE_ACCOUNT[1],
            amount=Decimal(1),
        )
        async with gate:
            try:
                await ledger.reserve(request)
                outcome.reserved += 1
            except InsufficientLedgerFundsError as refused:
                outcome.refused += 1
                clean = (refused.sub_account, refused.currency, refused.needed) == (
                    *RACE_ACCOUNT,
                    Decimal(1),
                )
                outcome.refusals_clean &= clean and refused.available is not None
            except Exception as error:  # what the test must not see
                outcome.other_errors.append(repr(error))

    try:
        await asyncio.gather(*(one(n) for n in range(count)))
    finally:
        await ledger.close()
    return outcome
