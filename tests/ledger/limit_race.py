"""One worker of the spending-limit race: `count` reservations of 1 on one sub-account funded for
far more than its 24h limit, eight at a time over its own ledger (a PostgreSQL pool in a process
of its own, or a SqliteLedger connection in a thread of its own), reporting what became of each."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from decimal import Decimal

from activities.ledger import (
    PostgresLedger,
    ReserveRequest,
    SpendingLimit,
    SpendingLimitExceededError,
    SqliteLedger,
)

LIMITED_ACCOUNT = ("limited", "USDT_TRX")
DAY = 24 * 3600


@dataclass
class LimitRaceOutcome:
    reserved: int = 0
    refused: int = 0
    refusals_clean: bool = True  # every refusal named the account, the limit and 1 needed
    other_errors: list[str] = field(default_factory=list)


def day_limit(max_amount: int) -> SpendingLimit:
    return SpendingLimit(name="24h", window_seconds=DAY, max_amount=Decimal(max_amount))


def reserve_many_postgres(dsn: str, worker: int, count: int, limit: int) -> LimitRaceOutcome:
    """In a process of its own (spawned): its own event loop and connection pool."""

    async def run() -> LimitRaceOutcome:
        ledger = PostgresLedger(dsn, max_connections=8)
        try:
            return await reserve_many(ledger, worker, count, limit)
        finally:
            await ledger.close()

    return asyncio.run(run())


async def reserve_many(
    ledger: PostgresLedger | SqliteLedger, worker: int, count: int, limit: int
) -> LimitRaceOutcome:
    outcome = LimitRaceOutcome()
    gate = asyncio.Semaphore(8)
    expected = (*LIMITED_ACCOUNT, "24h", DAY, Decimal(limit), Decimal(1))

    async def one(n: int) -> None:
        request = ReserveRequest(
            key=f"limit-race-{worker}-{n}",
            sub_account=LIMITED_ACCOUNT[0],
            currency=LIMITED_ACCOUNT[1],
            amount=Decimal(1),
            limits=[day_limit(limit)],
            address=f"T-recipient-{n % 7}",
        )
        async with gate:
            try:
                await ledger.reserve(request)
                outcome.reserved += 1
            except SpendingLimitExceededError as refused:
                outcome.refused += 1
                seen = (
                    refused.sub_account,
                    refused.currency,
                    refused.limit_name,
                    refused.window_seconds,
                    refused.max_amount,
                    refused.amount,
                )
                # The window was full when it was refused: nothing else may have slipped in.
                outcome.refusals_clean &= seen == expected and refused.usage == Decimal(limit)
            except Exception as error:  # what the test must not see
                outcome.other_errors.append(repr(error))

    await asyncio.gather(*(one(n) for n in range(count)))
    return outcome
