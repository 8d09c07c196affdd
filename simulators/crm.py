"""CRM stand-in (the CORE CRM of the CSR seed): account details, with SAP codes
and customer classification, for the demo accounts; more can be put."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from simulators.store import Kept, Records, Table


class CrmAccount(BaseModel):
    account_number: str
    name: str = ""
    sap_codes: list[str] = []
    customer_classification: str = ""


class CrmAccountIn(BaseModel):
    name: str = Field(min_length=1)
    sap_codes: list[str] = []
    customer_classification: str = ""


# The demo accounts (db/demo_data.sql) as the CRM knows them.
DEMO_ACCOUNTS = [
    CrmAccount(account_number="401693", name="Propetro Services",
               sap_codes=["SAP-100401693", "SAP-SH-7781"], customer_classification="A - Strategic"),
    CrmAccount(account_number="402110", name="Rio Grande Water",
               sap_codes=["SAP-100402110"], customer_classification="B - Key"),
    CrmAccount(account_number="403500", name="Summit Mining",
               sap_codes=["SAP-100403500"], customer_classification="C - Standard"),
    CrmAccount(account_number="404820", name="Bayou Fabricators",
               sap_codes=["SAP-100404820"], customer_classification="C - Standard"),
]  # fmt: skip


class CrmState:
    reads = Kept(int, 0)

    def __init__(self, records: Records) -> None:
        self.records = records
        self.accounts: Table[str, CrmAccount] = records.table("accounts", CrmAccount)
        if not self.accounts:  # a new CRM (none is ever deleted)
            for account in DEMO_ACCOUNTS:
                self.accounts[account.account_number] = account


def _state(request: Request) -> CrmState:
    return request.app.state.sim.crm


router = APIRouter(prefix="/crm", tags=["crm"])


@router.get("/accounts/{account_number}")
async def get_account(account_number: str, request: Request) -> CrmAccount:
    state = _state(request)
    state.reads += 1
    found = state.accounts.get(account_number)
    if found is None:
        raise HTTPException(404, detail=f"account {account_number} not found in the CRM")
    return found


@router.put("/accounts/{account_number}")
async def put_account(account_number: str, body: CrmAccountIn, request: Request) -> CrmAccount:
    account = CrmAccount(account_number=account_number, **body.model_dump())
    _state(request).accounts[account_number] = account
    return account
