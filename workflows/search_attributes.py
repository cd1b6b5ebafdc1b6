"""Custom search attributes of payout sagas, registered by `payouts setup` and the local stack."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

PAYOUT_STATE = SearchAttributeKey.for_keyword("PayoutState")
PAYOUT_KIND = SearchAttributeKey.for_keyword("PayoutKind")
PAYOUT_CURRENCY = SearchAttributeKey.for_keyword("PayoutCurrency")
PAYOUT_EXTERNAL_ID = SearchAttributeKey.for_keyword("PayoutExternalId")
CALYPSO_PAYOUT_ID = SearchAttributeKey.for_keyword("CalypsoPayoutId")
PAYOUT_EXECUTION_DATE = SearchAttributeKey.for_datetime("PayoutExecutionDate")

ALL = (
    PAYOUT_STATE,
    PAYOUT_KIND,
    PAYOUT_CURRENCY,
    PAYOUT_EXTERNAL_ID,
    CALYPSO_PAYOUT_ID,
    PAYOUT_EXECUTION_DATE,
)
