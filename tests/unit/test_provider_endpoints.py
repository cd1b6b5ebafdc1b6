"""The one table of provider endpoints: its activity names are the worker's, and a fee quote
that leaves an item out is an error of the tree, not a guess."""

from __future__ import annotations

from decimal import Decimal

import pytest
from temporalio import activity

from activities.ledger import NoLedger
from activities.payout_activities import PayoutActivities
from activities.provider_endpoints import MASS_DEAL, SINGLE_PAYOUT
from calypso.client import CalypsoClient, CalypsoCredentials
from calypso.errors import PermanentError, UnexpectedResponseError
from calypso.models import FeeQuoteResult


def registered_names() -> set[str]:
    client = CalypsoClient("http://127.0.0.1:9", CalypsoCredentials("a", "k", "s"))
    activities = PayoutActivities(client, NoLedger()).with_mass_payouts()
    names = set()
    for function in activities:
        definition = activity._Definition.from_callable(function)
        assert definition is not None and definition.name is not None
        names.add(definition.name)
    return names


@pytest.mark.parametrize("endpoints", [SINGLE_PAYOUT, MASS_DEAL], ids=lambda e: e.kind)
def test_every_endpoint_names_an_activity_the_worker_registers(endpoints: object) -> None:
    names = registered_names()
    for field in ("create_activity", "fetch_activity", "cancel_activity"):
        assert getattr(endpoints, field) in names, field


def test_sender_fees_come_back_in_order() -> None:
    quote = FeeQuoteResult.model_validate(
        {
            "items": [
                {"amount": "1", "currency": "ETH", "opType": "WITHDRAWAL",
                 "feeSender": {"amount": "1.1", "fee": "0.1"}},
                {"amount": "2", "currency": "ETH", "opType": "WITHDRAWAL",
                 "feeSender": {"amount": "2.2", "fee": "0.2"}},
            ]
        }
    )  # fmt: skip
    assert quote.sender_fees(2) == [Decimal("0.1"), Decimal("0.2")]


def test_a_quote_missing_an_item_is_a_permanent_unexpected_response() -> None:
    quote = FeeQuoteResult.model_validate(
        {"items": [{"amount": "1", "currency": "ETH", "opType": "WITHDRAWAL"}]}
    )
    with pytest.raises(UnexpectedResponseError) as raised:
        quote.sender_fees(1)
    assert isinstance(raised.value, PermanentError)
    with pytest.raises(UnexpectedResponseError):
        FeeQuoteResult().sender_fees(1)
