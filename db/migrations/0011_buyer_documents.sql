-- Talking back to the buyer (issue 11): where a buyer's procurement system takes
-- the documents the supplier sends (registered with its PunchOut credential), and
-- every cXML document an order received from or sent to the buyer, with its
-- status and the buyer's answer (GET /orders/{id}/documents).

ALTER TABLE punchout_credentials ADD COLUMN endpoint_url text;

CREATE TABLE buyer_documents (
    order_id     text NOT NULL,
    payload_id   text NOT NULL,
    direction    text NOT NULL CHECK (direction IN ('received', 'sent')),
    -- OrderRequest, ConfirmationRequest, ShipNoticeRequest, InvoiceDetailRequest
    kind         text NOT NULL,
    -- What it tells: "new", "confirmation accept", "shipment S1", "invoice INV-000001"
    event        text NOT NULL DEFAULT '',
    is_test      boolean NOT NULL DEFAULT false,
    endpoint_url text,
    -- The document as it went out (the Sender's SharedSecret left out) or came in.
    xml          text NOT NULL,
    -- received; pending, retrying, sent, refused, not_sent
    status       text NOT NULL,
    answer_code  integer,
    answer_text  text NOT NULL DEFAULT '',
    attempts     integer NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, payload_id)
);

CREATE INDEX buyer_documents_by_order ON buyer_documents (order_id, created_at);
