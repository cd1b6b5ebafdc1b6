"""One step of the payout state machine (docs/provider-api.md §4), single and mass payouts alike.

A single payout is handled as a deal with one withdrawal; a mass payout with one per item.
    CREATED / CREATION_IN_PROGRESS → [PENDING_CONFIRMATION →] CONFIRMED
    → (held until executionDate on the virtual clock) → IN_PROGRESS
    → per withdrawal: checked and debited, tx hash known, COMPLETED / FAILED
    → COMPLETED, PARTIAL (some items failed) or FAILED (all failed)."""

from __future__ import annotations

import hashlib

import structlog

from sandbox import money
from sandbox.records import (
    Deal,
    EventType,
    FundsStatus,
    PayoutState,
    Withdrawal,
    WithdrawalError,
    WithdrawalState,
)
from sandbox.scenarios import (
    NETWORK_FAILURE_MESSAGE,
    SLOW_FACTOR,
    VALIDATION_FAILURE_MESSAGE,
    Scenario,
    scenario_for,
)
from sandbox.state import SandboxState
from sandbox.webhooks import WebhookSender

log = structlog.get_logger("sandbox.lifecycle")

# A payout held for a month is re-examined now and then; a clock jump re-examines it at once.
HOLD_RECHECK_SECONDS = 60.0


class Lifecycle:
    def __init__(self, state: SandboxState, webhooks: WebhookSender) -> None:
        self._state = state
        self._webhooks = webhooks

    @property
    def _step(self) -> float:
        return self._state.config.step_delay_seconds

    def move(self, deal: Deal, new_state: PayoutState) -> None:
        """Change state, record it, and tell the subscribers."""
        deal.state = new_state
        deal.history.append((new_state, self._state.clock.now()))
        log.info("sandbox.payout.state_changed", payout_id=deal.id, kind=deal.kind, state=new_state)
        self._webhooks.emit(deal, EventType.CHANGE_STATUS)
        if new_state is PayoutState.CONFIRMED:
            self._webhooks.emit(deal, EventType.CONFIRMED)
        if deal.is_terminal:
            self._state.schedule(deal, None)
            self._webhooks.deal_finished(deal)

    def step(self, deal: Deal, now: float) -> None:
        """Advance a deal whose next step is due (`now` is event-loop time)."""
        if deal.state in (PayoutState.CREATED, PayoutState.CREATION_IN_PROGRESS):
            self._after_creation(deal, now)
        elif deal.state is PayoutState.CONFIRMED:
            self._start_when_due(deal, now)
        elif deal.state is PayoutState.IN_PROGRESS:
            self._follow_network(deal, now)
        else:  # waiting for a confirmation, or finished: nothing happens by itself
            self._state.schedule(deal, None)

    def _after_creation(self, deal: Deal, now: float) -> None:
        if self._state.config.verification:
            self.move(deal, PayoutState.PENDING_CONFIRMATION)
            self._state.schedule(deal, None)
        else:
            self.move(deal, PayoutState.CONFIRMED)
            self._state.schedule(deal, now + self._step)

    def _start_when_due(self, deal: Deal, now: float) -> None:
        if deal.execution_date is not None:
            wait = (deal.execution_date - self._state.clock.now()).total_seconds()
            if wait > 0:
                self._state.schedule(deal, now + min(wait, HOLD_RECHECK_SECONDS))
                return
        self.move(deal, PayoutState.IN_PROGRESS)
        rejected = [item for item in deal.withdrawals if not self._send(item, now)]
        if rejected:
            self._webhooks.emit(deal, EventType.VALIDATION_ERROR)
        if len(rejected) == len(deal.withdrawals):
            self.move(deal, PayoutState.FAILED)
            return
        self._schedule_next_answer(deal)

    def _send(self, item: Withdrawal, now: float) -> bool:
        """Check and debit one withdrawal; False when it fails before reaching the network."""
        scenario = scenario_for(item.deposit_address)
        if scenario is Scenario.VALIDATION_FAILURE:
            self._fail(item, FundsStatus.SUCCESS, VALIDATION_FAILURE_MESSAGE)
            return False
        code = item.currency.code
        needed = money.add(item.amount, item.fee)
        balance = self._state.balances_of(item.account)[code]
        if balance < needed:
            reason = f"not enough funds: balance {balance:f} {code}, needed {needed:f} {code}"
            self._fail(item, FundsStatus.NOT_ENOUGH_FUNDS, reason)
            return False
        self._state.change_balance(item.account, item.currency, -needed)
        item.state = WithdrawalState.IN_PROGRESS
        factor = SLOW_FACTOR if scenario is Scenario.SLOW else 1
        item.network_answer_at = now + self._step * factor
        return True

    def _follow_network(self, deal: Deal, now: float) -> None:
        first_new_hash: str | None = None
        for item in deal.withdrawals:
            if item.state is not WithdrawalState.IN_PROGRESS:
                continue
            if item.network_answer_at is not None and item.network_answer_at > now:
                continue
            if self._network_rejects(item):
                # The chain refused it: the debited amount and fee go back to the balance.
                needed = money.add(item.amount, item.fee)
                self._state.change_balance(item.account, item.currency, needed)
                self._fail(item, FundsStatus.SUCCESS, NETWORK_FAILURE_MESSAGE)
            elif item.transaction_hash is None:
                item.transaction_hash = _fake_transaction_hash(item)
                first_new_hash = first_new_hash or item.transaction_hash
                item.network_answer_at = now + self._step
            else:
                item.state = WithdrawalState.COMPLETED
        if first_new_hash is not None:
            # One hint per step, not one per item: a 1000-item payout should not send 1000.
            self._webhooks.emit(deal, EventType.HASH_RECEIVED, tx_hash=first_new_hash)
        if any(item.state is WithdrawalState.IN_PROGRESS for item in deal.withdrawals):
            self._schedule_next_answer(deal)
            return
        self.move(deal, _outcome(deal))

    def _network_rejects(self, item: Withdrawal) -> bool:
        scenario = scenario_for(item.deposit_address)
        if scenario is Scenario.FAILS_ONCE and item.deposit_address not in self._state.failed_once:
            self._state.failed_once.add(item.deposit_address)
            return True
        return scenario is Scenario.NETWORK_FAILURE

    def _schedule_next_answer(self, deal: Deal) -> None:
        answers = [
            item.network_answer_at
            for item in deal.withdrawals
            if item.state is WithdrawalState.IN_PROGRESS and item.network_answer_at is not None
        ]
        self._state.schedule(deal, min(answers))

    def _fail(self, item: Withdrawal, status: FundsStatus, message: str) -> None:
        item.state = WithdrawalState.FAILED
        item.errors.append(WithdrawalError(self._state.new_id(), status, message))
        log.info("sandbox.withdrawal.failed", withdrawal_id=item.id, status=status, reason=message)


def _outcome(deal: Deal) -> PayoutState:
    completed = sum(item.state is WithdrawalState.COMPLETED for item in deal.withdrawals)
    if completed == len(deal.withdrawals):
        return PayoutState.COMPLETED
    return PayoutState.PARTIAL if completed else PayoutState.FAILED


def _fake_transaction_hash(item: Withdrawal) -> str:
    # Derived from the withdrawal id so a run can be reproduced hash for hash.
    return "0x" + hashlib.sha256(f"calypso-sandbox:{item.id}".encode()).hexdigest()
