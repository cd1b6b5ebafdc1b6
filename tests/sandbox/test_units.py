"""Pure functions of the sandbox: signing, settings, money, currencies, exact JSON."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sandbox import SandboxSettings, SandboxSettingsError
from sandbox.currencies import CURRENCIES
from sandbox.jsonwire import MalformedJson, dumps_exact, loads_exact
from sandbox.money import fee_for, fits_scale
from sandbox.scenarios import Scenario, scenario_for, shape_of
from sandbox.signing import sign_body, signature_matches
from sandbox.webhook_delivery import RETRY_DELAYS_SECONDS
from tests.sandbox.helpers import hmac_sha512_hex

VECTOR_SECRET = "b823a6b9ea72408583cef9ec8d67fa52"
VECTOR_SIGN = (
    "b16e9d45f49f2069becbc4f108b237bee588cfc353fe9501df103e692acbc68d"
    "482a10d34c12bea22fedde7e28e1b8e57a6a0a373b0e9a27c5257bd8b36e13b9"
)


def test_documented_signing_vector() -> None:
    body = b'{"timestamp":1}'
    assert sign_body(body, VECTOR_SECRET) == VECTOR_SIGN
    assert hmac_sha512_hex(body, VECTOR_SECRET) == VECTOR_SIGN
    assert signature_matches(body, VECTOR_SECRET, VECTOR_SIGN)
    assert not signature_matches(b'{"timestamp": 1}', VECTOR_SECRET, VECTOR_SIGN)
    assert not signature_matches(body, VECTOR_SECRET, "é" + VECTOR_SIGN[1:])


def test_settings_defaults_and_environment() -> None:
    assert SandboxSettings.from_env({}) == SandboxSettings()
    settings = SandboxSettings.from_env(
        {
            "SANDBOX_ACCOUNT": "acc",
            "SANDBOX_INITIAL_BALANCE": "12.5",
            "SANDBOX_STEP_DELAY": "0",
            "SANDBOX_WEBHOOK_TIME_SCALE": "0.01",
            "SANDBOX_VERIFICATION": "true",
        }
    )
    assert settings.account == "acc"
    assert settings.initial_balance == Decimal("12.5")
    assert settings.step_delay_seconds == 0
    assert settings.webhook_time_scale == 0.01
    assert settings.verification is True
    assert "sandbox-secret-key" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SANDBOX_INITIAL_BALANCE", "lots"),
        ("SANDBOX_INITIAL_BALANCE", "-1"),
        ("SANDBOX_STEP_DELAY", "fast"),
        ("SANDBOX_STEP_DELAY", "-0.1"),
        ("SANDBOX_WEBHOOK_TIME_SCALE", "0"),
        ("SANDBOX_VERIFICATION", "maybe"),
        ("SANDBOX_API_SECRET", " "),
    ],
)
def test_bad_setting_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(SandboxSettingsError, match=name):
        SandboxSettings.from_env({name: value})


def test_fee_rounds_up_to_the_currency_scale() -> None:
    half = Decimal("0.5")
    assert fee_for(Decimal("1"), half, Decimal(0), 8) == Decimal("0.005")
    assert fee_for(Decimal("0.00000001"), half, Decimal(0), 8) == Decimal("0.00000001")
    assert fee_for(Decimal("0.123456789012345678"), half, Decimal(0), 18) == Decimal(
        "0.000617283945061729"
    )
    assert fee_for(Decimal("100"), Decimal(1), Decimal("0.25"), 6) == Decimal("1.25")
    assert fee_for(Decimal(0), half, Decimal(0), 6) == 0


def test_scale_check_never_rounds() -> None:
    assert fits_scale(Decimal("0.123456789012345678"), 18)
    assert not fits_scale(Decimal("0.1234567890123456789"), 18)
    assert fits_scale(Decimal("1.50000000"), 6)  # trailing zeros carry no value
    assert fits_scale(Decimal("123456789012345.123456789012345678"), 18)


@pytest.mark.parametrize(
    ("currency", "address", "ok"),
    [
        ("ETH", "0x" + "aB" * 20, True),
        ("ETH", "0x" + "a" * 39, False),
        ("USDT_MATIC", "T" + "a" * 33, False),
        ("TRX", "T" + "a" * 33, True),
        ("TRX", "T" + "0" * 33, False),  # 0 is not base58
        ("BTC", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", True),
        ("BTC", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", True),
        ("BTC", "0x" + "a" * 40, False),
        ("XDG", "D" + "a" * 33, True),
        ("XDG", "D" + "a" * 32, False),
    ],
)
def test_address_shapes(currency: str, address: str, ok: bool) -> None:
    assert (CURRENCIES[currency].address_problem(address) is None) is ok


def test_test_card_suffixes_pass_the_shape_check_on_every_chain() -> None:
    for currency, address in [
        ("TRX", "T" + "a" * 29 + "5104"),  # 0 is not base58, but the card is allowed
        ("BTC", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5fa11"),  # 1 and b are not bech32
        ("XDG", "D" + "a" * 29 + "bad1"),
        ("ETH", "0x" + "a" * 36 + "sLow"),
    ]:
        assert CURRENCIES[currency].address_problem(shape_of(address)) is None, address
    assert shape_of("T" + "a" * 33) == "T" + "a" * 33
    assert CURRENCIES["TRX"].address_problem(shape_of("T" + "0" * 29 + "5104")) is not None


def test_scenario_suffixes_are_case_insensitive() -> None:
    assert scenario_for("0x" + "0" * 36 + "FA11") is Scenario.NETWORK_FAILURE
    assert scenario_for("0x" + "0" * 36 + "bad1") is Scenario.VALIDATION_FAILURE
    assert scenario_for("0x" + "0" * 36 + "5104") is Scenario.SLOW
    assert scenario_for("T" + "a" * 29 + "sLow") is Scenario.SLOW
    assert scenario_for("0x" + "0" * 40) is Scenario.NORMAL


def test_retry_schedule_has_nineteen_growing_delays() -> None:
    assert len(RETRY_DELAYS_SECONDS) == 19
    assert RETRY_DELAYS_SECONDS[:5] == (30, 60, 90, 150, 240)
    assert list(RETRY_DELAYS_SECONDS) == sorted(RETRY_DELAYS_SECONDS)
    assert RETRY_DELAYS_SECONDS[-1] == 34 * 3600


def test_json_numbers_round_trip_exactly() -> None:
    raw = b'{"a":0.123456789012345678,"b":1000000,"c":0.00000050,"d":1E+2}'
    parsed = loads_exact(raw)
    assert parsed["a"] == Decimal("0.123456789012345678")
    assert dumps_exact(parsed) == b'{"a":0.123456789012345678,"b":1000000,"c":0.00000050,"d":100}'
    with pytest.raises(MalformedJson):
        loads_exact(b'{"a": NaN}')
    with pytest.raises(MalformedJson):
        loads_exact(b"\xff")
