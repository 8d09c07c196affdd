"""Custom search attributes: registered with the Temporal server at launch, set
at start by the API and kept current by workflows, so operators can filter."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

ACCOUNT_NUMBER = SearchAttributeKey.for_keyword("AccountNumber")
PO_NUMBER = SearchAttributeKey.for_keyword("PoNumber")
ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
CSR_STATUS = SearchAttributeKey.for_keyword("CsrStatus")
CONTACT_STATUS = SearchAttributeKey.for_keyword("ContactStatus")
ASSIGNEE = SearchAttributeKey.for_keyword("Assignee")
DUE_AT = SearchAttributeKey.for_datetime("DueAt")
STORE_ID = SearchAttributeKey.for_keyword("StoreId")
BUSINESS_UNIT = SearchAttributeKey.for_keyword("BusinessUnit")
HOLD_CODES = SearchAttributeKey.for_keyword_list("HoldCodes")
SLA_BREACHED = SearchAttributeKey.for_bool("SlaBreached")
# Issue 7: the platform outage (incident) an order waits in, or waited in; the
# incident sets it on itself too. (An incident's status needs no attribute of its
# own: the dev server's SQLite visibility holds 10 keyword attributes at most.)
INCIDENT_ID = SearchAttributeKey.for_keyword("IncidentId")

# Where each kind of workflow keeps its status.
STATUS_BY_KIND: dict[str, SearchAttributeKey[str]] = {
    "order": ORDER_STATUS,
    "csr": CSR_STATUS,
    "open_order": CONTACT_STATUS,
}

ALL = (
    ACCOUNT_NUMBER,
    PO_NUMBER,
    ORDER_STATUS,
    CSR_STATUS,
    CONTACT_STATUS,
    ASSIGNEE,
    DUE_AT,
    STORE_ID,
    BUSINESS_UNIT,
    HOLD_CODES,
    SLA_BREACHED,
    INCIDENT_ID,
)


def cli_flags() -> list[str]:
    """`--search-attribute Name=Type` flags for `temporal server start-dev`."""
    kinds = {
        "KEYWORD": "Keyword",
        "DATETIME": "Datetime",
        "KEYWORD_LIST": "KeywordList",
        "BOOL": "Bool",
    }
    flags: list[str] = []
    for key in ALL:
        flags += ["--search-attribute", f"{key.name}={kinds[key.indexed_value_type.name]}"]
    return flags
