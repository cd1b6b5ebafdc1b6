"""Custom search attributes of payout sagas and reconciliation runs, registered by `payouts setup`,
the local stack and the test fixtures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

PAYOUT_STATE = SearchAttributeKey.for_keyword("PayoutState")
PAYOUT_KIND = SearchAttributeKey.for_keyword("PayoutKind")
PAYOUT_CURRENCY = SearchAttributeKey.for_keyword("PayoutCurrency")
PAYOUT_EXTERNAL_ID = SearchAttributeKey.for_keyword("PayoutExternalId")
CALYPSO_PAYOUT_ID = SearchAttributeKey.for_keyword("CalypsoPayoutId")
PAYOUT_EXECUTION_DATE = SearchAttributeKey.for_datetime("PayoutExecutionDate")
# Set by each `Reconcile` run: how many discrepancies it found (`ReconcileDiscrepancies > 0`).
RECONCILE_DISCREPANCIES = SearchAttributeKey.for_int("ReconcileDiscrepancies")

ALL = (
    PAYOUT_STATE,
    PAYOUT_KIND,
    PAYOUT_CURRENCY,
    PAYOUT_EXTERNAL_ID,
    CALYPSO_PAYOUT_ID,
    PAYOUT_EXECUTION_DATE,
    RECONCILE_DISCREPANCIES,
)


def initial(
    kind: str, currency: str, external_id: str | None, execution_date: datetime | None
) -> list[SearchAttributeUpdate[Any]]:
    """What a saga sets once at start; state and provider id follow as they change."""
    updates: list[SearchAttributeUpdate[Any]] = [
        PAYOUT_KIND.value_set(kind),
        PAYOUT_CURRENCY.value_set(currency),
    ]
    if external_id:
        updates.append(PAYOUT_EXTERNAL_ID.value_set(external_id))
    if execution_date:
        updates.append(PAYOUT_EXECUTION_DATE.value_set(execution_date))
    return updates
