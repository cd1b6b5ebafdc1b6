"""The control API's inspection endpoints stay small: payouts are listed with a withdrawal summary
and filtered, one payout's withdrawals are paged, the request and webhook logs take a limit, and
every bad query parameter is a 400 that names it."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from tests.sandbox.helpers import SandboxClient, WebhookReceiver, exact_json, wait_for

ETH = "0x" + "1" * 40
FAILS_ON_NETWORK = "0x" + "2" * 36 + "fa11"
TERMINAL = {"COMPLETED", "FAILED", "CANCELED", "PARTIAL"}
MASS_CREATE = "/api/v1/payout/mass/create"


def create(api: SandboxClient) -> Any:
    payload = {
        "depositAddress": ETH,
        "amount": Decimal("2.5"),
        "currency": "ETH",
        "idempotencyKey": str(uuid.uuid4()),
    }
    return api.ok("/api/v1/payout/create", payload)


def create_mass(api: SandboxClient, addresses: list[str]) -> Any:
    items = [{"depositAddress": a, "amount": Decimal("1.25")} for a in addresses]
    payload = {"currency": "ETH", "massAddresses": items, "idempotencyKey": str(uuid.uuid4())}
    return api.ok(MASS_CREATE, payload)


def finished(api: SandboxClient) -> tuple[Any, Any]:
    """A COMPLETED single payout and a PARTIAL mass payout of 5 items (the second one fails)."""
    single = create(api)
    mass = create_mass(api, [ETH, FAILS_ON_NETWORK, ETH, ETH, ETH])
    assert api.wait_state(single["id"], TERMINAL)["state"] == "COMPLETED"
    assert api.wait_state(mass["id"], TERMINAL, mass=True)["state"] == "PARTIAL"
    return single, mass


def bad_query(api: SandboxClient, path: str) -> str:
    response = api.http.get(f"/sandbox{path}")
    assert response.status_code == 400, response.text
    body = exact_json(response.content)
    assert set(body) == {"error"}, body
    message: str = body["error"]
    return message


def ids(payouts: list[Any]) -> list[str]:
    return [payout["id"] for payout in payouts]


def test_the_list_summarises_withdrawals_instead_of_listing_them(api: SandboxClient) -> None:
    single, mass = finished(api)
    listed = api.control("GET", "/payouts")
    assert ids(listed) == [single["id"], mass["id"]]  # creation order
    first, second = listed
    assert "withdrawals" not in first and "withdrawals" not in second
    assert first["kind"] == "single" and second["kind"] == "mass"
    assert first["withdrawalCount"] == 1
    assert first["withdrawalStates"] == {"COMPLETED": 1}
    assert second["withdrawalCount"] == 5
    assert second["withdrawalStates"] == {"COMPLETED": 4, "FAILED": 1}
    # The API view and the history are still there.
    assert first["transactionHash"] == api.payout(single["id"])["transactionHash"]
    assert second["totalWithdrawalAmount"] == Decimal("6.25")
    assert [h["state"] for h in second["history"]][-1] == "PARTIAL"


def test_one_payout_keeps_its_withdrawals_and_the_summary(api: SandboxClient) -> None:
    _, mass = finished(api)
    full = api.control("GET", f"/payouts/{mass['id']}")
    assert [w["state"] for w in full["withdrawals"]] == ["COMPLETED", "FAILED"] + ["COMPLETED"] * 3
    assert full["withdrawalCount"] == 5
    assert full["withdrawalStates"] == {"COMPLETED": 4, "FAILED": 1}
    summary = api.control("GET", f"/payouts?idempotencyKey={mass['idempotencyKey']}")
    assert summary == [{k: v for k, v in full.items() if k != "withdrawals"}]


def test_filters_by_kind_key_and_state(api: SandboxClient) -> None:
    single, mass = finished(api)
    api.control("POST", "/config", {"verification": True})
    pending = create(api)
    api.wait_state(pending["id"], {"PENDING_CONFIRMATION"})

    assert ids(api.control("GET", "/payouts?kind=single")) == [single["id"], pending["id"]]
    assert ids(api.control("GET", "/payouts?kind=mass")) == [mass["id"]]
    assert ids(api.control("GET", "/payouts?kind=mass&kind=single")) == ids(
        api.control("GET", "/payouts")
    )
    assert ids(api.control("GET", f"/payouts?idempotencyKey={single['idempotencyKey']}")) == [
        single["id"]
    ]
    assert api.control("GET", f"/payouts?idempotencyKey={uuid.uuid4()}") == []
    assert ids(api.control("GET", "/payouts?state=PARTIAL")) == [mass["id"]]
    assert ids(api.control("GET", "/payouts?state=COMPLETED&state=PENDING_CONFIRMATION")) == [
        single["id"],
        pending["id"],
    ]
    assert api.control("GET", "/payouts?kind=mass&state=COMPLETED") == []  # filters combine
    assert api.control("GET", "/payouts?state=CANCELED") == []


def test_withdrawals_are_paged_in_item_order(api: SandboxClient) -> None:
    _, mass = finished(api)
    full = api.control("GET", f"/payouts/{mass['id']}")["withdrawals"]
    path = f"/payouts/{mass['id']}/withdrawals"
    pages = [api.control("GET", f"{path}?pageNumber={n}&size=2") for n in (1, 2, 3)]
    assert [p["result"] for p in pages] == [full[0:2], full[2:4], full[4:5]]
    assert [(p["page"], p["size"], p["total"], p["totalElements"]) for p in pages] == [
        (n, 2, 3, 5) for n in (1, 2, 3)
    ]
    beyond = api.control("GET", f"{path}?pageNumber=4&size=2")
    assert beyond["result"] == [] and beyond["totalElements"] == 5
    default = api.control("GET", path)
    assert (default["page"], default["size"], default["result"]) == (1, 100, full)
    assert api.control("GET", f"{path}?size=1000")["total"] == 1  # the largest page


def test_unknown_payout_is_404(api: SandboxClient) -> None:
    for path in ("/payouts/999999", "/payouts/999999/withdrawals"):
        response = api.http.get(f"/sandbox{path}")
        assert response.status_code == 404, response.text
        assert "999999" in exact_json(response.content)["error"]


@pytest.mark.parametrize(
    ("path", "names"),
    [
        ("/payouts?kind=batch", ["kind", "single", "mass", "'batch'"]),
        ("/payouts?state=DONE", ["state", "COMPLETED", "'DONE'"]),
        ("/payouts?state=", ["state", "''"]),
        ("/payouts?idempotencyKey=order-42", ["idempotencyKey", "UUID", "'order-42'"]),
        ("/payouts?idempotencyKey=", ["idempotencyKey", "empty"]),
        ("/payouts?kinds=mass", ["unknown query parameter", "kinds"]),
        ("/payouts/100001?withdrawals=false", ["unknown query parameter", "withdrawals"]),
        ("/payouts/100001/withdrawals?pageNumber=0", ["pageNumber", "from 1"]),
        ("/payouts/100001/withdrawals?pageNumber=x", ["pageNumber", "'x'"]),
        ("/payouts/100001/withdrawals?size=1001", ["size", "1 to 1000", "'1001'"]),
        ("/payouts/100001/withdrawals?size=-1", ["size", "'-1'"]),
        ("/payouts/100001/withdrawals?size=1&size=2", ["size", "more than once"]),
        ("/payouts/100001/withdrawals?pageSize=10", ["unknown query parameter", "pageSize"]),
        ("/requests?limit=0", ["limit", "1 to 10000"]),
        ("/requests?limit=ten", ["limit", "'ten'"]),
        ("/requests?status=200", ["unknown query parameter", "status"]),
        ("/webhooks?limit=10001", ["limit", "1 to 10000"]),
        ("/webhooks?payout=1", ["unknown query parameter", "payout"]),
    ],
)
def test_a_bad_query_parameter_is_400_naming_it(
    api: SandboxClient, path: str, names: list[str]
) -> None:
    create(api)  # payout 100001 or later: the checks come before the lookup anyway
    message = bad_query(api, path)
    for name in names:
        assert name in message, message


def test_the_request_log_filters_by_key_and_keeps_the_latest(api: SandboxClient) -> None:
    masses = [create_mass(api, [ETH] * 3) for _ in range(3)]
    api.ok("/api/v1/account")
    everything = api.control("GET", "/requests")
    assert [e["path"] for e in everything] == [MASS_CREATE] * 3 + ["/api/v1/account"]

    second = masses[1]["idempotencyKey"]
    (only,) = api.control("GET", f"/requests?idempotencyKey={second}")
    assert only == everything[1]
    assert api.control("GET", "/requests?limit=2") == everything[2:]
    assert api.control("GET", f"/requests?path={MASS_CREATE}&limit=2") == everything[1:3]
    assert api.control("GET", "/requests?limit=10000") == everything


def test_the_webhook_log_keeps_the_latest(api: SandboxClient, receiver: WebhookReceiver) -> None:
    api.subscribe(receiver.url, str(uuid.uuid4()))
    payout = create(api)
    api.wait_state(payout["id"], TERMINAL)
    path = f"/webhooks?payoutId={payout['id']}"
    wait_for(lambda: len(api.control("GET", path)) == 6, what="six delivery attempts")
    everything = api.control("GET", path)
    assert api.control("GET", f"{path}&limit=2") == everything[-2:]
    assert [e["event"]["payoutStatus"] for e in api.control("GET", "/webhooks?limit=1")] == [
        "COMPLETED"
    ]
