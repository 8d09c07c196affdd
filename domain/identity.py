"""Who is acting: roles and the actor recorded on every move."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel


class Role(StrEnum):
    SYSTEM = "system"
    ACCOUNT_REP = "account_rep"
    TEAM_LEAD = "team_lead"
    CSC_MANAGER = "csc_manager"
    BRANCH_MANAGER = "branch_manager"
    IT_SUPPORT = "it_support"
    SALES_REP = "sales_rep"
    CSR_APPROVER = "csr_approver"
    CSR_ASSESSOR = "csr_assessor"
    CSR_IMPLEMENTER = "csr_implementer"
    OOM_AGENT = "oom_agent"
    STORE_MANAGER = "store_manager"
    IMPLEMENTATION_MANAGER = "implementation_manager"
    SALES_SUPPORT_MANAGER = "sales_support_manager"
    ACCOUNT_MANAGER = "account_manager"
    OPERATOR = "operator"


class Actor(BaseModel):
    """The person or system behind a call; passed into every Update and Signal."""

    person_id: str
    name: str = ""
    roles: frozenset[Role] = frozenset()

    def has_any(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    def __str__(self) -> str:
        return self.person_id
