"""The bare workflow the outage benchmark measures recovery against: one real
activity, the OMS create an order makes, and nothing else (no read model, no
audit, no search attributes, no kernel).

A module of its own that imports only the SDK and pure modules the production
sandbox passes through, as `benchmarks/floor.py` does."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.contracts import oms
    from activities.contracts.oms import OmsCreateOrder, OmsOrderRef


@workflow.defn
class BareCreateWorkflow:
    @workflow.run
    async def run(self, req: OmsCreateOrder) -> str:
        created: OmsOrderRef = await workflow.execute_activity(
            oms.CREATE_ORDER.name,
            req,
            result_type=OmsOrderRef,
            start_to_close_timeout=oms.CREATE_ORDER.start_to_close,
            retry_policy=oms.CREATE_ORDER.retry,
        )
        return created.oms_order_id
