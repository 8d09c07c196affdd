"""Procurement-network stand-in: the buyer's side of the cXML documents a
supplier sends back (ConfirmationRequest, ShipNoticeRequest, InvoiceDetailRequest).

It validates each document against the DTD in the repository (406 when it does
not), records what it takes, and answers as it is told (`PUT /network/answers`):
2xx, 4xx (the buyer says no) or 5xx (try again later). A document resent under
a payloadID it already took is not taken twice: it answers as it did the first
time, and counts the resend."""

from __future__ import annotations

from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

from fastapi import APIRouter, Request, Response
from lxml import etree
from pydantic import BaseModel, Field

from domain.order.cxml_out import dtd_path
from simulators.store import Kept, Records, Table


class ReceivedDocument(BaseModel):
    payload_id: str
    kind: str
    # The buyer's PO number the document is about (OrderReference@orderID).
    order_id: str
    deployment_mode: str
    status_code: int
    status_text: str
    received_at: datetime
    # How many times it was posted (a resend under the same payloadID counts).
    deliveries: int = 1
    xml: str


class Answers(BaseModel):
    """Answer `code` to the next `times` new documents (all of them when None); then 200."""

    code: int = Field(ge=200, le=599)
    text: str = ""
    times: int | None = Field(default=None, ge=1)


class NetworkState:
    answers = Kept(Answers | None, None)
    posts = Kept(int, 0)

    def __init__(self, records: Records) -> None:
        self.records = records
        self.documents: Table[str, ReceivedDocument] = records.table("documents", ReceivedDocument)
        self._dtd: etree.DTD | None = None

    def dtd(self) -> etree.DTD:
        if self._dtd is None:
            self._dtd = etree.DTD(str(dtd_path()))
        return self._dtd

    def next_answer(self) -> tuple[int, str]:
        told = self.answers
        if told is None:
            return 200, "OK"
        if told.times is not None:
            left = told.times - 1
            self.answers = told.model_copy(update={"times": left}) if left > 0 else None
        return told.code, told.text or _TEXT.get(told.code // 100, "")


_TEXT = {2: "OK", 4: "Bad Request", 5: "Internal Server Error"}


def _cxml(code: int, text: str, detail: str = "") -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<cXML payloadID="{datetime.now(UTC):%Y%m%d%H%M%S%f}@network.sim" '
        f'timestamp="{datetime.now(UTC).isoformat(timespec="seconds")}">'
        f'<Response><Status code="{code}" text={quoteattr(text)}>{escape(detail)}</Status>'
        "</Response></cXML>\n"
    )
    # cXML answers a business error in the body; only a 5xx is an HTTP error too.
    return Response(body, status_code=500 if code >= 500 else 200, media_type="text/xml")


def _state(request: Request) -> NetworkState:
    return request.app.state.sim.network


router = APIRouter(prefix="/network", tags=["network"])


@router.post("/cxml", summary="Receive a cXML document from a supplier")
async def receive(request: Request) -> Response:
    state = _state(request)
    state.posts += 1
    data = await request.body()
    parser = etree.XMLParser(
        load_dtd=False, no_network=True, resolve_entities=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as err:
        return _cxml(406, "Not Acceptable", f"not well-formed: {err}")
    if not state.dtd().validate(root):
        first = state.dtd().error_log.filter_from_errors()[0]
        return _cxml(406, "Not Acceptable", f"not valid against the DTD: {first.message}")
    payload_id = root.get("payloadID", "")
    seen = state.documents.get(payload_id)
    if seen is not None:
        seen.deliveries += 1
        state.documents[payload_id] = seen
        return _cxml(seen.status_code, seen.status_text, "already received")
    request_el = root.find("Request")
    body = request_el[0] if request_el is not None and len(request_el) else None
    reference = root.find(".//OrderReference")
    code, text = state.next_answer()
    if code < 500:  # a 5xx takes nothing: the supplier sends it again
        state.documents[payload_id] = ReceivedDocument(
            payload_id=payload_id,
            kind=body.tag if body is not None else "",
            order_id=reference.get("orderID", "") if reference is not None else "",
            deployment_mode=request_el.get("deploymentMode", "production")
            if request_el is not None
            else "",
            status_code=code,
            status_text=text,
            received_at=datetime.now(UTC),
            xml=data.decode(),
        )
    return _cxml(code, text)


@router.put("/answers", summary="How the buyer answers the next documents")
async def put_answers(answers: Answers, request: Request) -> Answers:
    _state(request).answers = answers
    return answers


@router.get("/documents", summary="What the buyer received (filter: the PO's orderID)")
async def list_documents(
    request: Request, order_id: str | None = None, kind: str | None = None
) -> list[ReceivedDocument]:
    return [
        d
        for d in _state(request).documents.values()
        if (order_id is None or d.order_id == order_id) and (kind is None or d.kind == kind)
    ]
