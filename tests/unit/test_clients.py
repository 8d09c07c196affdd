"""The system clients and activities against the simulators (in process, no network)."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from structlog.testing import capture_logs
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

import activities.contracts
from activities.contracts import ActivityContract
from activities.contracts.email import EmailMessage
from activities.contracts.helpdesk import ResolveTicket, TicketRequest
from activities.contracts.iseries import InvoiceRequest, IseriesCreateOrder, PickTicketRequest
from activities.contracts.oms import OmsCreateOrder, OmsLine, OmsOrderAction, OmsUpdateOrder
from activities.email import EmailActivities, EmailClient
from activities.helpdesk import HelpdeskActivities, HelpdeskClient, api_key_auth
from activities.iseries import IseriesActivities, IseriesClient
from activities.oms import OmsActivities, OmsClient, OmsOrderRequest
from domain.order.models import (
    Address,
    OrderLine,
    ProofOfDelivery,
    PurchaseOrder,
    ResolvedLine,
    Shipment,
    ShipmentLine,
)
from simulators.app import create_app
from sopflow.config import Settings
from workers.main import SystemClients, activities_for

# Short, so timeout tests are quick; long enough for a busy 2-core machine.
TIMEOUT = 1.0
SIM_KEY = "sim-helpdesk-key"


@pytest.fixture
def app():
    return create_app(seed=1)


@pytest.fixture
def transport(app):
    return httpx.ASGITransport(app=app)


@pytest.fixture
def sim(app):
    return app.state.sim


@pytest.fixture
async def faults(transport):
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:

        async def set_faults(system: str, **faults):
            response = await http.put(f"/_faults/{system}", json=faults)
            response.raise_for_status()

        yield set_faults


@pytest.fixture
async def oms(transport):
    client = OmsClient("http://sim/oms", TIMEOUT, transport)
    yield OmsActivities(client)
    await client.close()


@pytest.fixture
async def iseries(transport):
    client = IseriesClient("http://sim/iseries", TIMEOUT, transport)
    yield IseriesActivities(client)
    await client.close()


@pytest.fixture
async def email(transport):
    client = EmailClient("http://sim/email", TIMEOUT, transport)
    yield EmailActivities(client)
    await client.close()


@pytest.fixture
async def helpdesk(transport):
    client = HelpdeskClient("http://sim/helpdesk", TIMEOUT, transport, auth=api_key_auth(SIM_KEY))
    yield HelpdeskActivities(client)
    await client.close()


def run(fn, *args, activity_type="test", scheduled_time=None):
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info,
        activity_type=activity_type,
        workflow_id="order-401693-PO1",
        workflow_run_id="run-1",
        scheduled_time=scheduled_time or datetime.now(UTC),
    )
    return env.run(fn, *args)


PO = PurchaseOrder(
    account_number="401693",
    po_number="PO1",
    ship_to=Address(address_id="S1"),
    lines=[
        OrderLine(
            line_number=1,
            customer_part_number="C-1",
            quantity=Decimal(3),
            uom="EA",
            unit_price=Decimal("1.255"),
        ),
        OrderLine(
            line_number=2,
            customer_part_number="C-2",
            quantity=Decimal(2),
            uom="BX",
            unit_price=Decimal("10.00"),
        ),
    ],
)
LINES = [
    ResolvedLine(
        line_number=1,
        part_id="P-1",
        pool_id="A",
        uom="EA",
        quantity=Decimal(3),
        unit_price=Decimal("1.255"),
    ),
    ResolvedLine(
        line_number=2,
        part_id="P-2",
        pool_id="A",
        uom="BX",
        quantity=Decimal(2),
        unit_price=Decimal("10.00"),
    ),
]


def create_request(confirmed=False, **overrides) -> OmsCreateOrder:
    fields = dict(
        idempotency_key=PO.workflow_id, order=PO, lines=LINES, branch_id="B12", confirmed=confirmed
    )
    return OmsCreateOrder(**(fields | overrides))


async def test_create_order_is_idempotent(oms, sim):
    first = await run(oms.create_order, create_request())
    again = await run(oms.create_order, create_request())
    assert (first.oms_order_id, first.status) == (again.oms_order_id, again.status)
    # The second found it by its PO number before creating anything.
    assert (first.found, again.found) == (False, True)
    assert first.status == "draft" and first.oms_order_id.startswith("OMS-")
    stored = sim.oms.orders[first.oms_order_id]
    assert stored.external_ref == "order-401693-PO1" and stored.branch_id == "B12"
    assert stored.lines[0].unit_price == Decimal("1.255")
    assert len(sim.oms.orders) == 1


def oms_request(status: str = "draft") -> OmsOrderRequest:
    return OmsOrderRequest(
        external_ref=PO.workflow_id,
        account_number=PO.account_number,
        po_number=PO.po_number,
        branch_id="B12",
        currency=PO.currency,
        status=status,
        lines=[OmsLine.from_resolved(line) for line in LINES],
    )


async def test_same_key_different_order_is_a_non_retryable_refusal(oms, sim):
    await oms.client.create_order(PO.workflow_id, oms_request())
    with pytest.raises(ApplicationError) as caught:
        await oms.client.create_order(PO.workflow_id, oms_request("confirmed"))
    err = caught.value
    assert err.type == "OmsRefused" and err.non_retryable
    assert err.details[0]["status_code"] == 409 and err.details[0]["system"] == "oms"
    assert len(sim.oms.orders) == 1


async def test_a_draft_carries_unresolved_lines_as_sent_and_is_not_confirmed(oms, sim):
    as_sent = LINES[1].model_copy(update={"part_id": "C-2", "pool_id": "", "resolved": False})
    ref = await run(oms.create_order, create_request(lines=[LINES[0], as_sent], branch_id=None))
    stored = sim.oms.orders[ref.oms_order_id]
    assert ref.status == "draft" and stored.branch_id is None
    assert [(ln.part_id, ln.pool_id, ln.resolved) for ln in stored.lines] == [
        ("P-1", "A", True),
        ("C-2", "", False),
    ]
    with pytest.raises(ApplicationError) as caught:
        await run(
            oms.confirm_order,
            OmsOrderAction(idempotency_key="confirm-1", oms_order_id=ref.oms_order_id),
        )
    assert caught.value.type == "OmsRefused" and caught.value.non_retryable
    assert "line 2 (C-2)" in caught.value.details[0]["reason"]


async def test_release_of_a_draft_is_refused(oms):
    ref = await run(oms.create_order, create_request())
    with pytest.raises(ApplicationError) as caught:
        await run(
            oms.release_order,
            OmsOrderAction(idempotency_key="release-1", oms_order_id=ref.oms_order_id),
        )
    assert caught.value.type == "OmsRefused" and caught.value.non_retryable
    assert "draft" in caught.value.details[0]["reason"]


async def test_confirm_update_and_release(oms, sim):
    ref = await run(oms.create_order, create_request())
    confirmed = await run(
        oms.confirm_order,
        OmsOrderAction(idempotency_key="confirm-1", oms_order_id=ref.oms_order_id),
    )
    assert confirmed.status == "confirmed"
    updated = await run(
        oms.update_order, OmsUpdateOrder(oms_order_id=ref.oms_order_id, lines=LINES[:1])
    )
    assert updated.status == "confirmed" and len(sim.oms.orders[ref.oms_order_id].lines) == 1
    assert sim.oms.orders[ref.oms_order_id].branch_id == "B12"
    release = await run(
        oms.release_order,
        OmsOrderAction(idempotency_key="release-1", oms_order_id=ref.oms_order_id),
    )
    assert release.oms_order_id == ref.oms_order_id
    assert sim.iseries.orders[release.iseries_order_id].oms_order_id == ref.oms_order_id
    assert (
        await run(
            oms.release_order,
            OmsOrderAction(idempotency_key="release-1", oms_order_id=ref.oms_order_id),
        )
        == release
    )


async def test_down_is_a_retryable_system_unavailable(oms, faults, sim):
    await faults("oms", down=True)
    with pytest.raises(ApplicationError) as caught:
        await run(oms.create_order, create_request())
    err = caught.value
    assert err.type == "SystemUnavailable" and not err.non_retryable
    assert err.details[0] == {
        "system": "oms",
        "status_code": 503,
        "reason": "oms is down (injected fault)",
    }
    assert sim.oms.orders == {}


async def test_server_errors_are_retryable(email, faults):
    await faults("email", error_rate=1.0)
    message = EmailMessage(idempotency_key="m1", to=["a@example.com"], subject="s", body="b")
    with pytest.raises(ApplicationError) as caught:
        await run(email.send, message)
    assert caught.value.type == "SystemUnavailable" and not caught.value.non_retryable
    assert caught.value.details[0]["status_code"] == 500


async def test_connect_error_is_retryable():
    def refuse(request):
        raise httpx.ConnectError("connection refused", request=request)

    client = OmsClient("http://oms.invalid", TIMEOUT, httpx.MockTransport(refuse))
    with pytest.raises(ApplicationError) as caught:
        await client.get_order("OMS-000001")
    assert caught.value.type == "SystemUnavailable" and not caught.value.non_retryable
    assert caught.value.details[0]["system"] == "oms"
    await client.close()


async def test_429_is_retryable_and_404_is_a_refusal():
    def answer(request):
        if request.url.path.endswith("busy"):
            return httpx.Response(429, json={"detail": "slow down"})
        return httpx.Response(404, json={"detail": "no such order"})

    client = IseriesClient("http://iseries.test", TIMEOUT, httpx.MockTransport(answer))
    with pytest.raises(ApplicationError) as busy:
        await client.get_order("busy")
    assert busy.value.type == "SystemUnavailable" and not busy.value.non_retryable
    with pytest.raises(ApplicationError) as missing:
        await client.get_order("ISO-1")
    assert missing.value.type == "IseriesRefused" and missing.value.non_retryable
    assert missing.value.details[0] == {
        "system": "iseries",
        "status_code": 404,
        "reason": "no such order",
    }
    await client.close()


async def test_lost_response_then_retry_makes_no_duplicate(oms, faults, sim):
    # The response comes after the client's deadline: the caller sees a timeout...
    await faults("oms", latency_ms=int(TIMEOUT * 1000 * 3))
    with pytest.raises(ApplicationError) as caught:
        await oms.client.create_order(PO.workflow_id, oms_request())
    assert caught.value.type == "SystemUnavailable" and not caught.value.non_retryable
    # ...although OMS made the order.
    assert len(sim.oms.orders) == 1
    (made,) = sim.oms.orders
    # Temporal's retry finds it by its PO number (and would get it back by its key).
    await faults("oms")
    retried = await run(oms.create_order, create_request())
    assert retried.oms_order_id == made and retried.found
    assert len(sim.oms.orders) == 1


async def test_pick_ticket(oms, iseries):
    ref = await run(oms.create_order, create_request(confirmed=True))
    release = await run(
        oms.release_order,
        OmsOrderAction(idempotency_key="release-1", oms_order_id=ref.oms_order_id),
    )
    ticket = await run(
        iseries.print_pick_ticket,
        PickTicketRequest(
            idempotency_key="pick-1", iseries_order_id=release.iseries_order_id, branch_id="B12"
        ),
    )
    again = await run(
        iseries.print_pick_ticket,
        PickTicketRequest(
            idempotency_key="pick-1", iseries_order_id=release.iseries_order_id, branch_id="B12"
        ),
    )
    assert ticket == again and ticket.branch_id == "B12"
    assert isinstance(ticket.printed_at, datetime)
    with pytest.raises(ApplicationError) as caught:
        await run(
            iseries.print_pick_ticket,
            PickTicketRequest(
                idempotency_key="pick-2", iseries_order_id="ISO-404", branch_id="B12"
            ),
        )
    assert caught.value.type == "IseriesRefused" and caught.value.details[0]["status_code"] == 404


def shipment(shipment_id="SH-1", lines=((1, "3"), (2, "1"))):
    return Shipment(
        shipment_id=shipment_id,
        lines=[ShipmentLine(line_number=n, quantity=Decimal(q)) for n, q in lines],
        proof_of_delivery=ProofOfDelivery(
            signed_by="J. Doe", signed_at=datetime(2025, 1, 2, tzinfo=UTC)
        ),
    )


def invoice_request(iso, key="order-401693-PO1/SH-1", ship=None, prices=None):
    return InvoiceRequest(
        idempotency_key=key,
        iseries_order_id=iso,
        order_ref=PO.workflow_id,
        currency="USD",
        shipment=ship or shipment(),
        unit_prices=prices if prices is not None else {1: Decimal("1.255"), 2: Decimal("10.00")},
    )


async def test_invoice_totals_and_idempotency(iseries, sim):
    entered = await run(
        iseries.create_order,
        IseriesCreateOrder(idempotency_key=PO.workflow_id, order=PO, lines=LINES, branch_id="B12"),
    )
    assert sim.iseries.orders[entered.iseries_order_id].source == "direct"
    invoice = await run(iseries.invoice_shipment, invoice_request(entered.iseries_order_id))
    # 3 x 1.255 + 1 x 10.00 = 13.765 -> 13.77
    assert invoice.amount == Decimal("13.77")
    assert invoice.shipment_id == "SH-1" and invoice.currency == "USD"
    assert await run(iseries.invoice_shipment, invoice_request(entered.iseries_order_id)) == invoice

    second = await run(
        iseries.invoice_shipment,
        invoice_request(
            entered.iseries_order_id,
            key="order-401693-PO1/SH-2",
            ship=shipment("SH-2", ((2, "1"),)),
        ),
    )
    assert second.invoice_number != invoice.invoice_number and second.amount == Decimal("10.00")
    listed = await iseries.client.find_invoices(PO.workflow_id)
    assert [i.invoice_number for i in listed] == [invoice.invoice_number, second.invoice_number]


async def test_invoice_needs_a_price_for_every_shipped_line(iseries, sim):
    with pytest.raises(ApplicationError) as caught:
        await run(iseries.invoice_shipment, invoice_request("ISO-000001", prices={1: Decimal(1)}))
    assert caught.value.type == "InvalidInvoice" and caught.value.non_retryable
    assert sim.iseries.invoices == {}


async def test_email_send_is_idempotent(email, sim):
    message = EmailMessage(
        idempotency_key="order-401693-PO1/holds", to=["csc@example.com"], subject="Holds", body="b"
    )
    first = await run(email.send, message)
    assert await run(email.send, message) == first
    assert list(sim.email.messages) == [first]
    assert sim.email.messages[first].to == ["csc@example.com"]


async def test_helpdesk_ticket_is_opened_once_per_ref(helpdesk, sim):
    request = TicketRequest(
        idempotency_key="order-401693-PO1",
        subject="PO1 on hold",
        description="PRICE hold",
        requester_email="csc@example.com",
        assignee_email="rep@example.com",
    )
    ticket_id = await run(helpdesk.open_ticket, request)
    assert await run(helpdesk.open_ticket, request) == ticket_id
    assert len(sim.helpdesk.tickets) == 1
    ticket = sim.helpdesk.tickets[ticket_id]
    assert ticket.responder_id == sim.helpdesk.agents["rep@example.com"].id
    assert ticket.custom_fields == {"cf_sopflow_ref": "order-401693-PO1"} and ticket.status == 2

    other = await run(
        helpdesk.open_ticket,
        request.model_copy(update={"idempotency_key": "order-401693-PO2", "assignee_email": None}),
    )
    assert other != ticket_id and sim.helpdesk.tickets[other].responder_id is None

    await run(helpdesk.resolve_ticket, ResolveTicket(ticket_id=ticket_id))
    assert sim.helpdesk.tickets[ticket_id].status == 4
    assert sim.helpdesk.tickets[other].status == 2


async def test_helpdesk_wrong_api_key_is_a_configuration_fault_of_ours(transport, sim):
    client = HelpdeskClient("http://sim/helpdesk", TIMEOUT, transport, auth=api_key_auth("wrong"))
    request = TicketRequest(
        idempotency_key="r", subject="s", description="d", requester_email="csc@example.com"
    )
    with pytest.raises(ApplicationError) as caught:
        await run(HelpdeskActivities(client).open_ticket, request)
    # Not the helpdesk's "no" about this ticket: our credential (an operator's).
    assert caught.value.type == "ConfigurationFault" and caught.value.non_retryable
    assert caught.value.details[0]["status_code"] == 401
    assert sim.helpdesk.tickets == {}
    await client.close()


async def test_activity_logs_carry_the_activity_and_workflow(oms):
    with capture_logs() as logs:
        await run(oms.create_order, create_request(), activity_type="oms.create_order")
    (entry,) = [e for e in logs if e["event"] == "oms order created"]
    assert entry["activity"] == "oms.create_order"
    assert entry["workflow_id"] == "order-401693-PO1" and entry["run_id"] == "run-1"


def test_clients_from_settings():
    settings = Settings(
        host="10.0.0.5",
        sim_port=9100,
        http_timeout=timedelta(seconds=3),
        oms_url="https://oms.example.com/api/",
    )
    oms = OmsClient.from_settings(settings)
    assert str(oms._http.base_url) == "https://oms.example.com/api/" and oms.timeout == 3
    assert (
        str(IseriesClient.from_settings(settings)._http.base_url) == "http://10.0.0.5:9100/iseries/"
    )
    assert str(EmailClient.from_settings(settings)._http.base_url) == "http://10.0.0.5:9100/email/"
    helpdesk = HelpdeskClient.from_settings(settings)
    assert str(helpdesk._http.base_url) == "http://10.0.0.5:9100/helpdesk/"


async def test_the_worker_builds_each_client_from_settings(transport):
    settings = Settings(host="sim", sim_port=80, helpdesk_api_key=SIM_KEY)
    clients = SystemClients.from_settings(settings, transport)
    # Each client reaches its own simulator; the helpdesk with its API key.
    assert await clients.oms.find_orders("order-x") == []
    assert await clients.iseries.find_invoices("order-x") == []
    assert await clients.email.list_messages() == []
    assert await clients.helpdesk.agent_id("rep@example.com") is not None
    await clients.close()

    wrong_key = HelpdeskClient.from_settings(settings.model_copy(update={"helpdesk_api_key": "x"}))
    with pytest.raises(ApplicationError) as caught:
        await HelpdeskClient(
            "http://sim/helpdesk", TIMEOUT, transport, auth=wrong_key._http.auth
        ).agent_id("rep@example.com")
    assert caught.value.type == "ConfigurationFault"
    await wrong_key.close()


def contracts() -> dict[str, ActivityContract]:
    """Every activity contract a workflow can call, from activities/contracts/."""
    found = {}
    for module_info in pkgutil.iter_modules(activities.contracts.__path__):
        module = importlib.import_module(f"activities.contracts.{module_info.name}")
        for value in vars(module).values():
            if isinstance(value, ActivityContract):
                found[value.name] = value
    return found


def test_the_worker_registers_an_activity_for_every_contract():
    registered = {
        fn.__temporal_activity_definition.name: fn
        for fn in activities_for(None, SystemClients(*[None] * 9))  # type: ignore[arg-type]
    }
    assert set(registered) == set(contracts())
    assert {"oms.release_order", "iseries.print_pick_ticket", "helpdesk.open_ticket"} <= set(
        registered
    )
    for name, contract in contracts().items():
        definition = registered[name].__temporal_activity_definition
        assert definition.arg_types == [contract.input], name


class LosesResponses(httpx.AsyncBaseTransport):
    """The request reaches the system and is done there, but the answer to the
    first `times` requests matching `method` and `path_suffix` never comes back."""

    def __init__(self, inner, method, path_suffix, times=1):
        self.inner, self.method, self.path_suffix, self.times = inner, method, path_suffix, times

    async def handle_async_request(self, request):
        response = await self.inner.handle_async_request(request)
        if (
            self.times
            and request.method == self.method
            and request.url.path.endswith(self.path_suffix)
        ):
            self.times -= 1
            await response.aclose()
            raise httpx.ReadTimeout("response lost on the way back", request=request)
        return response


TICKET = TicketRequest(
    idempotency_key="order-401693-PO1:run-1:on-hold",
    subject="PO1 on hold",
    description="PRICE hold",
    requester_email="csc@example.com",
)


async def open_ticket_by_search(client: HelpdeskClient, req: TicketRequest) -> int:
    """How open_ticket used to do it: search the ref, create when none is found."""
    query = f"\"cf_sopflow_ref:'{req.idempotency_key}'\""
    found = await client.request("GET", "/api/v2/search/tickets", params={"query": query})
    if found["results"]:
        return found["results"][0]["id"]
    created = await client.create_ticket(
        {
            "subject": req.subject,
            "description": req.description,
            "email": req.requester_email,
            "custom_fields": {"cf_sopflow_ref": req.idempotency_key},
        }
    )
    return created.id


@pytest.mark.parametrize("way", ["search then create", "list then create"])
async def test_helpdesk_retry_after_a_lost_create_opens_one_ticket(way):
    # Freshdesk's search index lags the tickets by minutes.
    app = create_app(helpdesk_search_lag=timedelta(minutes=5))
    lossy = LosesResponses(httpx.ASGITransport(app=app), "POST", "/api/v2/tickets")
    client = HelpdeskClient("http://sim/helpdesk", TIMEOUT, lossy, auth=api_key_auth(SIM_KEY))
    if way == "search then create":

        def attempt():
            return open_ticket_by_search(client, TICKET)
    else:
        scheduled = datetime.now(UTC)

        def attempt():
            return run(HelpdeskActivities(client).open_ticket, TICKET, scheduled_time=scheduled)

    with pytest.raises(ApplicationError) as lost:
        await attempt()
    assert lost.value.type == "SystemUnavailable" and not lost.value.non_retryable
    assert len(app.state.sim.helpdesk.tickets) == 1  # made, though the caller never heard

    ticket_id = await attempt()  # Temporal's retry
    tickets = app.state.sim.helpdesk.tickets
    if way == "search then create":
        assert len(tickets) == 2 and ticket_id == 2  # the bug this design removes
    else:
        assert len(tickets) == 1 and ticket_id == 1
        assert tickets[1].custom_fields == {"cf_sopflow_ref": TICKET.idempotency_key}
    await client.close()


async def test_helpdesk_retry_finds_its_ticket_among_many_of_the_same_requester(transport, sim):
    lossy = LosesResponses(transport, "POST", "/api/v2/tickets")
    client = HelpdeskClient("http://sim/helpdesk", TIMEOUT, lossy, auth=api_key_auth(SIM_KEY))
    activities = HelpdeskActivities(client)
    scheduled = datetime.now(UTC)
    with pytest.raises(ApplicationError):
        await run(activities.open_ticket, TICKET, scheduled_time=scheduled)
    # Before the retry, the CSC inbox asks for 150 more tickets (other orders' holds):
    # the one this operation made is on the second page of the newest-first list.
    for n in range(150):
        other = TICKET.model_copy(update={"idempotency_key": f"order-{n}:run-1:on-hold"})
        await run(activities.open_ticket, other)
    assert len(sim.helpdesk.tickets) == 151

    assert await run(activities.open_ticket, TICKET, scheduled_time=scheduled) == 1
    assert len(sim.helpdesk.tickets) == 151
    await client.close()


async def test_helpdesk_key_of_an_earlier_operation_opens_a_new_ticket(helpdesk, sim):
    first = await run(helpdesk.open_ticket, TICKET)
    # A new hold later in the order's life: a new operation, a new key, a new ticket.
    second = await run(
        helpdesk.open_ticket,
        TICKET.model_copy(update={"idempotency_key": "order-401693-PO1:run-2:on-hold"}),
    )
    assert second != first and len(sim.helpdesk.tickets) == 2


async def _confirmed_oms_order(oms):
    return (await run(oms.create_order, create_request(confirmed=True))).oms_order_id


async def _iseries_order(iseries):
    entered = await run(
        iseries.create_order,
        IseriesCreateOrder(idempotency_key="direct-1", order=PO, lines=LINES, branch_id="B12"),
    )
    return entered.iseries_order_id


@pytest.mark.parametrize("operation", ["release", "pick ticket", "invoice", "email"])
async def test_retry_after_a_lost_response_makes_nothing_twice(operation, transport, sim):
    suffix = {
        "release": "/release",
        "pick ticket": "/pick-tickets",
        "invoice": "/invoices",
        "email": "/messages",
    }[operation]
    lossy = LosesResponses(transport, "POST", suffix)
    oms = OmsActivities(OmsClient("http://sim/oms", TIMEOUT, lossy))
    iseries = IseriesActivities(IseriesClient("http://sim/iseries", TIMEOUT, lossy))
    email = EmailActivities(EmailClient("http://sim/email", TIMEOUT, lossy))
    if operation == "release":
        oms_order_id = await _confirmed_oms_order(oms)
        call = oms.release_order, OmsOrderAction(idempotency_key="rel-1", oms_order_id=oms_order_id)

        def made():
            return sim.iseries.orders
    elif operation == "pick ticket":
        iso = await _iseries_order(iseries)
        call = (
            iseries.print_pick_ticket,
            PickTicketRequest(idempotency_key="pick-1", iseries_order_id=iso, branch_id="B12"),
        )

        def made():
            return sim.iseries.pick_tickets
    elif operation == "invoice":
        iso = await _iseries_order(iseries)
        call = iseries.invoice_shipment, invoice_request(iso)

        def made():
            return sim.iseries.invoices
    else:
        call = (
            email.send,
            EmailMessage(idempotency_key="mail-1", to=["csc@example.com"], subject="s", body="b"),
        )

        def made():
            return sim.email.messages

    with pytest.raises(ApplicationError) as lost:
        await run(*call)
    assert lost.value.type == "SystemUnavailable" and not lost.value.non_retryable
    assert len(made()) == 1
    retried = await run(*call)
    assert len(made()) == 1
    assert retried == await run(*call)
    for client in (oms.client, iseries.client, email.client):
        await client.close()


async def test_an_answer_of_the_wrong_shape_is_a_retryable_failure_of_that_system():
    def answer(request):
        return httpx.Response(200, json={"id": "not what OMS answers"})

    client = OmsClient("http://oms.test", TIMEOUT, httpx.MockTransport(answer))
    with pytest.raises(ApplicationError) as caught:
        await client.release_order("OMS-1", "rel-1")
    assert caught.value.type == "SystemUnavailable" and not caught.value.non_retryable
    assert caught.value.details[0]["system"] == "oms"
    assert caught.value.details[0]["status_code"] == 200
    assert "unexpected body" in caught.value.details[0]["reason"]
    await client.close()


def test_an_idempotency_key_with_non_ascii_characters_goes_in_the_header_encoded():
    from activities.http import header_value

    assert header_value("order-401693-PO 77:run:oms-create") == "order-401693-PO 77:run:oms-create"
    encoded = header_value("order-401693-Bestellung-Ä:run:oms-create")
    assert encoded.isascii() and encoded == header_value("order-401693-Bestellung-Ä:run:oms-create")
    assert "%C3%84" in encoded


async def test_a_resent_po_changes_the_oms_draft_and_is_refused_once_confirmed(oms, sim):
    draft = await run(oms.create_order, create_request())
    other = [LINES[0].model_copy(update={"quantity": Decimal(5)}), LINES[1]]
    changed = await run(oms.create_order, create_request(idempotency_key="run-2", lines=other))
    assert changed.oms_order_id == draft.oms_order_id and changed.found
    assert sim.oms.orders[draft.oms_order_id].lines[0].quantity == Decimal(5)

    confirmed = await run(
        oms.create_order, create_request(idempotency_key="run-3", lines=other, confirmed=True)
    )
    assert (confirmed.oms_order_id, confirmed.status) == (draft.oms_order_id, "confirmed")
    with pytest.raises(ApplicationError) as caught:
        await run(oms.create_order, create_request(idempotency_key="run-4", confirmed=True))
    assert caught.value.type == "OmsRefused" and caught.value.non_retryable
    assert "customer service center" in str(caught.value)
    assert len(sim.oms.orders) == 1


async def test_a_cancelled_oms_order_leaves_room_for_a_new_one(oms, sim):
    first = await run(oms.create_order, create_request())
    sim.oms.cancel(first.oms_order_id)
    second = await run(oms.create_order, create_request(idempotency_key="run-2"))
    assert second.oms_order_id != first.oms_order_id and not second.found


async def test_the_iseries_fallback_finds_the_pos_order_and_its_first_pick_ticket(iseries, sim):
    def entry(key: str, lines: list[ResolvedLine] = LINES) -> IseriesCreateOrder:
        return IseriesCreateOrder(idempotency_key=key, order=PO, lines=lines, branch_id="B12")

    entered = await run(iseries.create_order, entry("run-1"))
    assert await run(iseries.create_order, entry("run-2")) == entered
    with pytest.raises(ApplicationError) as caught:
        await run(iseries.create_order, entry("run-3", LINES[:1]))
    assert caught.value.type == "IseriesRefused" and caught.value.non_retryable
    assert len(sim.iseries.orders) == 1

    def ticket(key: str, first: bool) -> PickTicketRequest:
        return PickTicketRequest(
            idempotency_key=key, iseries_order_id=entered.iseries_order_id, branch_id="B12",
            first=first,
        )  # fmt: skip

    printed = await run(iseries.print_pick_ticket, ticket("pick-run-1", True))
    assert await run(iseries.print_pick_ticket, ticket("pick-run-2", True)) == printed
    reprint = await run(iseries.print_pick_ticket, ticket("edit-1", False))
    assert reprint.pick_ticket_id != printed.pick_ticket_id
