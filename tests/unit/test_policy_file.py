"""The policy file: what it may say, exact amounts, inheritance per sub-account, errors with
their line, reloading, and the settings that check it at start."""

from __future__ import annotations

import os
import textwrap
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from activities.admission_models import AdmitInput, AdmitItem
from activities.policy import PolicyFileError, PolicySource, load_policy
from activities.policy.decisions import approval_need, refusals
from starter.service.settings import Settings, SettingsError

TRON = "TJRyWwFs9wTFGZg3JbrVriFbNfCug5tDeC"
OTHER = "TJRyWwFs9wTFGZg3JbrVriFbNfCug5tDeD"

WORKED = """\
version = "2026-12"

[default.approval]
above = { USDT_TRX = 1000.10 }
second_approver_above = { USDT_TRX = "10000" }
new_recipient = true
expires_after_hours = 48

[default.limits]
per_payout = { USDT_TRX = "5000" }
[[default.limits.window]]
currency = "USDT_TRX"
hours = 24
max = "20000"

[accounts.payroll.approval]
always = true
"""


def write(tmp_path: Path, text: str, name: str = "policy.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_worked_policy_reads_exactly_and_inherits_per_group(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, WORKED))
    assert policy.version == "2026-12"
    default = policy.rules_for("default")
    assert default.approval.above == {"USDT_TRX": Decimal("1000.10")}  # a TOML float, exact
    assert default.limits.window[0].as_ledger_limit().window_seconds == 86400
    payroll = policy.rules_for("payroll")
    assert payroll.approval.always and not payroll.approval.new_recipient  # replaced whole
    assert payroll.limits == default.limits  # not named: inherited
    assert policy.rules_for("unknown") == default


def test_version_defaults_to_a_hash_of_the_file(tmp_path: Path) -> None:
    first = load_policy(write(tmp_path, "[default.approval]\nalways = true\n"))
    second = load_policy(write(tmp_path, "[default.approval]\nalways = false\n"))
    assert first.version and first.version.startswith("sha256:")
    assert first.version != second.version


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[default.approval]\nalways = true\nabov = { USDT_TRX = 1 }\n",
            "policy.toml:3: default.approval.abov: Extra inputs are not permitted",
        ),
        (
            "[default.approval]\nabove = { DOGE = 1 }\n",
            "policy.toml:2: default.approval.above: unknown currency DOGE",
        ),
        (
            '[default.limits]\nover_limit = "reject"\n[[default.limits.window]]\n'
            'currency = "USDT_TRX"\nhours = 24\nmax = "-5"\n',
            "policy.toml:6: default.limits.window.0.max: Input should be greater than 0",
        ),
        (
            '[accounts.payroll.recipients]\nmode = "allow_list"\n',
            "policy.toml:1: accounts.payroll.recipients: "
            "mode allow_list needs at least one address in allow",
        ),
        (
            '[default.screening]\nurl = "ftp://x"\n',
            "policy.toml:2: default.screening.url: String should match pattern",
        ),
    ],
)
def test_problems_name_the_line_and_the_rule(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(PolicyFileError) as error:
        load_policy(write(tmp_path, text))
    assert str(error.value).startswith(f"{tmp_path / expected.split(':', 1)[0]}:")
    assert expected.split(":", 1)[1] in str(error.value)


def test_syntax_errors_name_the_line(tmp_path: Path) -> None:
    with pytest.raises(PolicyFileError, match=r"line 2"):
        load_policy(write(tmp_path, "[default]\napproval = {\n"))


def test_yaml_works_the_same_with_lines(tmp_path: Path) -> None:
    yaml_text = """\
        default:
          approval:
            above: {USDT_TRX: 0.1}
          limits:
            window:
              - {currency: USDT_TRX, hours: 24, max: 0}
    """
    with pytest.raises(PolicyFileError) as error:
        load_policy(write(tmp_path, yaml_text, "policy.yaml"))
    assert "policy.yaml:6: default.limits.window.0.max: Input should be greater than 0" in str(
        error.value
    )
    good = write(tmp_path, yaml_text.replace("max: 0", "max: 5"), "policy.yml")
    assert load_policy(good).rules_for("x").approval.above == {"USDT_TRX": Decimal("0.1")}


def test_source_rereads_a_changed_file_and_refuses_a_broken_one(tmp_path: Path) -> None:
    path = write(tmp_path, 'version = "one"\n')
    source = PolicySource(path)
    assert source.current().version == "one"
    path.write_text('version = "two"\n')
    os.utime(path, ns=(1, 1))  # a different mtime even on a coarse clock
    assert source.current().version == "two"
    path.write_text("version = \n")
    with pytest.raises(PolicyFileError):
        source.current()
    assert PolicySource(None).current().version == "none"


def test_settings_check_the_policy_at_start(tmp_path: Path) -> None:
    broken = write(tmp_path, "[default.approval]\nalways = 3\n")
    with pytest.raises(SettingsError, match=r"^PAYOUTS_POLICY: .*policy.toml:2: default.approval"):
        Settings.from_env({"PAYOUTS_POLICY": str(broken), "PAYOUTS_HOME": str(tmp_path)})
    with pytest.raises(SettingsError, match=r"PAYOUTS_POLICY: .* is not a file"):
        Settings.from_env({"PAYOUTS_POLICY": str(tmp_path / "nope.toml")})
    limits = write(tmp_path, WORKED)
    with pytest.raises(SettingsError, match="PAYOUTS_LEDGER=none keeps none"):
        Settings.from_env({"PAYOUTS_POLICY": str(limits), "PAYOUTS_LEDGER": "none"})
    settings = Settings.from_env({"PAYOUTS_POLICY": str(limits), "PAYOUTS_HOME": str(tmp_path)})
    assert settings.policy_path == limits


def admit(amount: str, *, kind: str = "single", address: str = TRON, **more: object) -> AdmitInput:
    return AdmitInput.model_validate(
        {
            "kind": kind,
            "payout_key": "k",
            "sub_account": "default",
            "currency": "USDT_TRX",
            "total": Decimal(amount),
            "item_count": 1,
            "items": [AdmitItem(index=0, ledger_key="k", address=address, amount=Decimal(amount))],
            **more,
        }
    )


def test_approval_reasons_and_approvers(tmp_path: Path) -> None:
    rules = load_policy(write(tmp_path, WORKED)).rules_for("default")
    now = datetime(2026, 12, 2, tzinfo=UTC)
    assert (
        approval_need(rules, admit("1000.10"), new_recipients=0, now=now, more_reasons=[]) is None
    )
    one = approval_need(rules, admit("1000.11"), new_recipients=0, now=now, more_reasons=[])
    assert one is not None and one.approvers == 1 and one.expires_after_seconds == 48 * 3600
    assert one.reasons == ["amount 1000.11 USDT_TRX is above the approval threshold 1000.10"]
    two = approval_need(rules, admit("10000.5"), new_recipients=1, now=now, more_reasons=[])
    assert two is not None and two.approvers == 2
    assert "a recipient this sub-account has never paid" in two.reasons

    far = load_policy(write(tmp_path, "[default.approval]\nexecution_date_beyond_days = 30\n"))
    later = admit("1", execution_date=now + timedelta(days=31))
    need = approval_need(far.rules_for("x"), later, new_recipients=0, now=now, more_reasons=[])
    assert need is not None and need.reasons == ["execution date is more than 30 days out"]
    soon = admit("1", execution_date=now + timedelta(days=29))
    assert (
        approval_need(far.rules_for("x"), soon, new_recipients=0, now=now, more_reasons=[]) is None
    )


def test_refusals_lists_and_per_payout_maximum(tmp_path: Path) -> None:
    policy = load_policy(
        write(
            tmp_path,
            f"""
            [default.recipients]
            deny = ["{TRON}"]
            [default.limits]
            per_payout = {{ USDT_TRX = "10" }}
            [accounts.strict.recipients]
            mode = "allow_list"
            allow = ["{OTHER}"]
            [accounts.lenient.limits]
            per_payout = {{ USDT_TRX = "10" }}
            over_limit = "approval"
            """,
        )
    )
    default = policy.rules_for("default")
    assert refusals(default, admit("1")) == ({0: "recipient is on the deny list"}, [])
    assert refusals(default, admit("11", address=OTHER))[0] == {
        0: "amount 11 USDT_TRX is above the per-payout limit 10"
    }
    assert refusals(policy.rules_for("strict"), admit("1", address="Tsomeone"))[0] == {
        0: "recipient is not on the allow list"
    }
    refused, approve = refusals(policy.rules_for("lenient"), admit("11", address=OTHER))
    assert refused == {} and approve == ["amount 11 USDT_TRX is above the per-payout limit 10"]


def test_the_readme_and_docs_policies_are_valid(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text().split("## Operator controls", 1)[1]
    docs = (root / "docs" / "policy.md").read_text()
    blocks = [text.split("```toml\n", 1)[1].split("```", 1)[0] for text in (readme, docs)]
    blocks.append(docs.split("```yaml\n", 1)[1].split("```", 1)[0])
    for index, block in enumerate(blocks):
        suffix = ".yaml" if index == 2 else ".toml"
        policy = load_policy(write(tmp_path, block, f"policy{index}{suffix}"))
        assert policy.rules_for("payroll").approval.always
