"""Balance and fee quote for a list, before anything starts.

A workflow rather than a direct provider call so that the provider secret stays in the worker:
the CLI and backend services never need it. Read-only; it moves no money.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.mass_activities import MassActivities, MassFundsInput
    from activities.payout_models import FundsCheck
    from workflows.activity_options import CALL


@workflow.defn(name="MassPayoutPreview")
class MassPreviewWorkflow:
    @workflow.run
    async def run(self, request: MassFundsInput) -> FundsCheck:
        return await workflow.execute_activity_method(
            MassActivities.check_mass_funds, request, **CALL
        )
