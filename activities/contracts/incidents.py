"""The incident workflow's own calls: an order joining its platform's incident
(signal-with-start), the incident telling its orders, probing the platform, and
the directory and read model it asks before escalating."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio.common import RetryPolicy

from activities.contracts import ActivityContract, notification_call, system_call
from domain.incident import IncidentNotice, JoinFault, JoinIncident

TEMPORAL = "temporal"
DATABASE = "postgres"


class NotifyOrders(BaseModel):
    order_ids: list[str]
    signal: str = "incident"
    notice: IncidentNotice


class Probe(BaseModel):
    platform: str


class ProbeResult(BaseModel):
    answering: bool
    detail: str = ""


class InFlightRequest(BaseModel):
    """Accounts with orders in flight (not yet at the branch), from the read model."""

    exclude_test: bool = True


class InFlight(BaseModel):
    accounts: list[str]


class ContactsRequest(BaseModel):
    platform: str


class Contact(BaseModel):
    person_id: str
    name: str
    email: str


class Contacts(BaseModel):
    contacts: list[Contact]


# An order joins (or opens) its platform's incident: a notification, so a
# Temporal that does not take it never stops the order (it keeps trying the
# platform on its own).
JOIN = notification_call("incidents.join", JoinIncident, None, TEMPORAL, timedelta(seconds=20))
# A business object joins (or opens) the configuration fault of a system, as an
# order joins an incident: a notification (the object tries again on its own too).
JOIN_CONFIGURATION_FAULT = notification_call(
    "incidents.join_configuration_fault", JoinFault, None, TEMPORAL, timedelta(seconds=20)
)
# Signals to many orders; each order takes a notice once, so a retry is safe.
NOTIFY_ORDERS = system_call(
    "incidents.notify_orders", NotifyOrders, int, TEMPORAL, timedelta(seconds=120)
)
# One try: the answer is whether the platform answered that once.
PROBE = ActivityContract(
    name="incidents.probe",
    input=Probe,
    output=ProbeResult,
    system="platform",
    start_to_close=timedelta(seconds=20),
    retry=RetryPolicy(maximum_attempts=1),
)
ACCOUNTS_IN_FLIGHT = system_call(
    "incidents.accounts_in_flight", InFlightRequest, InFlight, DATABASE, timedelta(seconds=20)
)
IT_SUPPORT_CONTACTS = system_call(
    "incidents.it_support_contacts", ContactsRequest, Contacts, DATABASE, timedelta(seconds=20)
)
