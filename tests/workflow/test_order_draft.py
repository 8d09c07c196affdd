"""An order that fails validation lands in OMS as a draft carrying every PO line as
sent, and on hold — never failed — with its holds listed, the CSC told, a
helpdesk ticket and a task per hold; even when its account, ship-to or every part
is unknown. On the time-skipping server, with the real activities against the
simulators and PostgreSQL."""

from __future__ import annotations

import uuid
from decimal import Decimal

import asyncpg
from temporalio.client import Client, WorkflowHandle

from domain.order.cxml import parse_order_request
from domain.order.models import HoldCode, OrderStatus, PurchaseOrder
from sopflow.config import Settings
from tests.conftest import Simulators, record_history
from tests.factories import propetro_order, start
from tests.workflow.conftest import eventually, wait_for_status
from workflows.order import OrderWorkflow

# What a real buyer's procurement system sends: its own material numbers (none in
# the account's cross-reference, no supplier part id on two of them) and a ship-to
# id from its own address book.
BUYER_CXML = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd">
<cXML payloadID="1732115405123.8812.{po}@propetro.ariba.com" timestamp="2026-11-20T09:30:05-06:00"
      version="1.2.014" xml:lang="en-US">
  <Header>
    <From><Credential domain="NetworkID"><Identity>AN01000401693</Identity></Credential></From>
    <To><Credential domain="DUNS"><Identity>123456789</Identity></Credential></To>
    <Sender>
      <Credential domain="NetworkID">
        <Identity>AN01000401693</Identity><SharedSecret>propetro-demo-secret</SharedSecret>
      </Credential>
      <UserAgent>SAP Ariba Buyer 15.0</UserAgent>
    </Sender>
  </Header>
  <Request deploymentMode="production">
    <OrderRequest>
      <OrderRequestHeader orderID="{po}" orderDate="2026-11-20T09:29:41-06:00" type="new">
        <Total><Money currency="USD">1241.60</Money></Total>
        <ShipTo>
          <Address addressID="3000481" isoCountryCode="US">
            <Name xml:lang="en">PROPETRO SVCS - PECOS FRAC YARD</Name>
            <PostalAddress name="default">
              <DeliverTo>Receiving / R. Salinas</DeliverTo>
              <Street>1201 County Rd 222</Street>
              <City>Pecos</City><State>TX</State><PostalCode>79772</PostalCode>
              <Country isoCountryCode="US">United States</Country>
            </PostalAddress>
          </Address>
        </ShipTo>
        <Comments xml:lang="en">Call 432-555-0148 one hour before delivery.</Comments>
        <Extrinsic name="CompanyCode">PP01</Extrinsic>
      </OrderRequestHeader>
      <ItemOut quantity="24" lineNumber="10">
        <ItemID><SupplierPartID>NOT AVAILABLE</SupplierPartID><BuyerPartID>100034871</BuyerPartID></ItemID>
        <ItemDetail>
          <UnitPrice><Money currency="USD">4.90</Money></UnitPrice>
          <Description xml:lang="en">STUD BOLT,B7,1-1/8-8 X 8-1/2,W/2 NUTS 2H</Description>
          <UnitOfMeasure>EA</UnitOfMeasure>
        </ItemDetail>
      </ItemOut>
      <ItemOut quantity="4" lineNumber="20">
        <ItemID><BuyerPartID>100051229</BuyerPartID></ItemID>
        <ItemDetail>
          <UnitPrice><Money currency="USD">212.50</Money></UnitPrice>
          <Description xml:lang="en">GASKET,SPWD,4IN,900#,316SS/GRAFOIL</Description>
          <UnitOfMeasure>CS</UnitOfMeasure>
        </ItemDetail>
      </ItemOut>
      <ItemOut quantity="1" lineNumber="30">
        <ItemID><BuyerPartID>100017702</BuyerPartID></ItemID>
        <ItemDetail>
          <UnitPrice><Money currency="USD">274.40</Money></UnitPrice>
          <Description xml:lang="en">VALVE,BALL,2IN,5000 WOG,FIG 1502</Description>
          <UnitOfMeasure>EA</UnitOfMeasure>
        </ItemDetail>
      </ItemOut>
    </OrderRequest>
  </Request>
</cXML>
"""


async def start_order(client: Client, settings: Settings, order: PurchaseOrder) -> WorkflowHandle:
    return await client.start_workflow(
        OrderWorkflow.run, start(order), id=order.workflow_id, task_queue=settings.task_queue
    )


async def on_hold_with_ticket(handle: WorkflowHandle):  # type: ignore[no-untyped-def]
    await wait_for_status(handle, OrderStatus.ON_HOLD)

    async def ticket_opened() -> object:
        view = await handle.query(OrderWorkflow.view)
        return view if view.helpdesk_ticket_id else None

    return await eventually(ticket_opened, "the helpdesk ticket is opened")


async def hold_tasks(pool: asyncpg.Pool, workflow_id: str) -> list[asyncpg.Record]:
    async def written() -> list[asyncpg.Record]:
        async with pool.acquire() as conn:
            return await conn.fetch(
                """SELECT kind, assignee, queue, payload FROM human_tasks
                   WHERE workflow_id = $1 AND closed_at IS NULL ORDER BY task_id""",
                workflow_id,
            )

    return await eventually(written, "the hold tasks are in the read model")  # type: ignore[return-value]


async def test_a_buyers_order_with_unknown_parts_and_ship_to_is_an_oms_draft_on_hold(
    client: Client, settings: Settings, sims: Simulators, pool: asyncpg.Pool
) -> None:
    po = f"45{uuid.uuid4().int % 10**8:08d}"
    doc = parse_order_request(BUYER_CXML.format(po=po).encode())
    order = doc.to_purchase_order("401693")
    handle = await start_order(client, settings, order)
    view = await on_hold_with_ticket(handle)

    # On hold, not failed: a hold for the ship-to and one per unknown part.
    assert view.status == OrderStatus.ON_HOLD
    assert [(h.code, h.line_number) for h in view.holds] == [
        (HoldCode.ADDRESS, None),
        (HoldCode.PART, 10),
        (HoldCode.PART, 20),
        (HoldCode.PART, 30),
    ]
    address = view.holds[0]
    assert address.address_id == "3000481"
    assert "3000481" in address.reason and "PP-ODESSA" in address.reason
    for hold, part in zip(view.holds[1:], ("100034871", "100051229", "100017702"), strict=True):
        assert hold.part_number == part
        assert f"line {hold.line_number}" in hold.reason and part in hold.reason
    assert not any(a.action == "failed" for a in view.audit)

    # One OMS draft, with no branch, carrying every line as the buyer sent it.
    [draft] = await sims.oms_orders(handle.id)
    assert draft["status"] == "draft" and draft["branch_id"] is None
    assert draft["oms_order_id"] == view.oms_order_id
    assert [
        (ln["line_number"], ln["part_id"], ln["pool_id"], ln["uom"],
         Decimal(ln["quantity"]), Decimal(ln["unit_price"]), ln["resolved"])
        for ln in draft["lines"]
    ] == [
        (10, "100034871", "", "EA", Decimal(24), Decimal("4.90"), False),
        (20, "100051229", "", "CS", Decimal(4), Decimal("212.50"), False),
        (30, "100017702", "", "EA", Decimal(1), Decimal("274.40"), False),
    ]  # fmt: skip
    # The order never reached the branch.
    assert view.pick_ticket_id is None and not sims.state.iseries.orders

    # The CSC inbox is told, the rep has a helpdesk ticket, and a task per hold.
    [email] = await sims.emails()
    assert "ADDRESS, PART" in email["subject"]
    ticket = sims.state.helpdesk.tickets[view.helpdesk_ticket_id]
    for text in (email["body"], ticket.description):
        assert all(s in text for s in ("3000481", "100034871", "100051229", "100017702"))
    tasks = await hold_tasks(pool, handle.id)
    assert [(t["kind"], t["assignee"]) for t in tasks] == [
        ("resolve_hold_address", "maria.lopez"),
        ("resolve_hold_part", "maria.lopez"),
        ("resolve_hold_part", "maria.lopez"),
        ("resolve_hold_part", "maria.lopez"),
    ]
    assert tasks[2]["payload"]["part_number"] == "100051229"

    await handle.terminate("test done")
    await record_history(client, handle.id, "order-on-hold-unknown-ship-to-and-parts")


async def test_an_order_on_an_unknown_account_is_an_oms_draft_with_an_account_hold(
    client: Client, settings: Settings, sims: Simulators, pool: asyncpg.Pool
) -> None:
    order = propetro_order(f"T{uuid.uuid4().hex[:8]}", account_number="999001")
    handle = await start_order(client, settings, order)
    view = await on_hold_with_ticket(handle)

    [hold] = view.holds
    assert (hold.code, hold.line_number) == (HoldCode.ACCOUNT, None)
    assert "account 999001 does not exist" in hold.reason
    [draft] = await sims.oms_orders(handle.id)
    assert (draft["status"], draft["account_number"], draft["branch_id"]) == (
        "draft",
        "999001",
        None,
    )
    assert [(ln["line_number"], ln["part_id"], ln["resolved"]) for ln in draft["lines"]] == [
        (1, "PP-BOLT-12", False),
        (2, "PP-GASKET", False),
        (3, "PV-3300", False),
    ]
    # No rep is known: the CSC queue gets the task, the ticket goes unassigned.
    [email] = await sims.emails()
    assert "ACCOUNT" in email["subject"] and "999001" in email["body"]
    assert sims.state.helpdesk.tickets[view.helpdesk_ticket_id].responder_id is None
    tasks = await hold_tasks(pool, handle.id)
    assert [(t["kind"], t["assignee"], t["queue"]) for t in tasks] == [
        ("resolve_hold_account", None, "csc")
    ]

    await handle.terminate("test done")
    await record_history(client, handle.id, "order-on-hold-unknown-account")
