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
# Issue 10: account-change requests.
ACCOUNT_MANAGER = SearchAttributeKey.for_keyword("AccountManager")
# The SQL visibility store (the dev server's SQLite, PostgreSQL, MySQL) holds at
# most 10 Keyword, 3 KeywordList and 3 Text attributes per namespace. The
# Keywords are taken, so a one-word kind is Text (`RequestKind = "add"` matches
# the word), and a code that may be absent is a KeywordList of zero or one.
REQUEST_KIND = SearchAttributeKey.for_text("RequestKind")
# Issue 7: the platform outages (incidents) an order waits or waited in; the
# incident sets its own id on itself too. A list: an order can meet an outage of
# OMS and later one of iSeries.
INCIDENT_ID = SearchAttributeKey.for_keyword_list("IncidentId")

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
    # Issue 10
    ACCOUNT_MANAGER,
    REQUEST_KIND,
    # Issue 7
    INCIDENT_ID,
)


def cli_flags() -> list[str]:
    """`--search-attribute Name=Type` flags for `temporal server start-dev`."""
    kinds = {
        "KEYWORD": "Keyword",
        "DATETIME": "Datetime",
        "KEYWORD_LIST": "KeywordList",
        "BOOL": "Bool",
        "TEXT": "Text",
    }
    flags: list[str] = []
    for key in ALL:
        flags += ["--search-attribute", f"{key.name}={kinds[key.indexed_value_type.name]}"]
    return flags

# ---- open orders (issue 9): their own attributes, appended to ALL.
DELIVERY_STATUS = SearchAttributeKey.for_keyword("DeliveryStatus")
CONTACT_DATE = SearchAttributeKey.for_datetime("ContactDate")
ORDER_CODE = SearchAttributeKey.for_keyword_list("OrderCode")
ALL = (*ALL, DELIVERY_STATUS, CONTACT_DATE, ORDER_CODE)
