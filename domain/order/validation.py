"""The six PunchOut validation rules, as pure functions over a snapshot of the
reference data. Each failure is a hold with a code the team knows from the SOP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from pydantic import BaseModel

from domain.order.models import (
    Address,
    Hold,
    HoldCode,
    OrderLine,
    PurchaseOrder,
    ResolvedLine,
    ValidationResult,
)

CENT = Decimal("0.01")
# A hold lists at most this many of the account's ship-to ids.
MAX_LISTED = 10


class AccountRef(BaseModel):
    account_number: str
    name: str
    active: bool
    punchout_enabled: bool
    sla_minutes: int | None = None
    rep_id: str | None = None
    rep_email: str | None = None


class ShipToRef(BaseModel):
    address_id: str
    branch_id: str
    name: str = ""
    postal_code: str = ""


class PartRef(BaseModel):
    part_id: str
    base_uom: str
    uoms: dict[str, Decimal]  # units the part is sold in → base units per unit
    pools: dict[str, list[str]] = {}  # branch → inventory pools holding the part


class ReferenceSnapshot(BaseModel):
    """Everything the rules need for one order, loaded in one go by an activity."""

    account: AccountRef | None
    ship_tos: dict[str, ShipToRef] = {}
    xref: dict[str, str] = {}  # customer part number → part id
    parts: dict[str, PartRef] = {}
    prices_cents: dict[str, dict[str, int]] = {}  # part id → uom → contract price
    conversions: dict[str, dict[str, Decimal]] = {}  # uom → base uom → factor


def check_account(snapshot: ReferenceSnapshot, account_number: str) -> Hold | None:
    account = snapshot.account
    if account is None:
        return Hold(
            code=HoldCode.ACCOUNT,
            reason=(
                f"account {account_number} does not exist; ship-to, parts, units and prices "
                "are checked once the order is on a known account"
            ),
        )
    if not account.active:
        return Hold(code=HoldCode.ACCOUNT, reason=f"account {account_number} is inactive")
    if not account.punchout_enabled:
        return Hold(
            code=HoldCode.ACCOUNT, reason=f"account {account_number} is not set up for PunchOut"
        )
    return None


def resolve_ship_to(snapshot: ReferenceSnapshot, ship_to: Address) -> ShipToRef | Hold:
    found = snapshot.ship_tos.get(ship_to.address_id)
    if found is None:
        account = snapshot.account.account_number if snapshot.account else "the account"
        sent = f"ship-to {ship_to.address_id or '(no address id)'}"
        where = ", ".join(p for p in (ship_to.name, ship_to.city, ship_to.postal_code) if p)
        known = sorted(snapshot.ship_tos)
        if not known:
            on_file = f"account {account} has no ship-to addresses on file"
        else:
            listed = ", ".join(known[:MAX_LISTED])
            more = f" and {len(known) - MAX_LISTED} more" if len(known) > MAX_LISTED else ""
            on_file = f"the account's ship-to ids are {listed}{more}"
        return Hold(
            code=HoldCode.ADDRESS,
            address_id=ship_to.address_id,
            reason=(
                f"{sent}{f' ({where})' if where else ''} is not one of account {account}'s "
                f"ship-to addresses; {on_file}"
            ),
        )
    return found


def part_as_sent(line: OrderLine) -> str:
    """The part number the buyer sent: theirs, or else the supplier part id."""
    return line.customer_part_number or line.supplier_part_id or ""


def _part_label(line: OrderLine) -> str:
    ids = []
    if line.customer_part_number:
        ids.append(f"customer part number {line.customer_part_number}")
    if line.supplier_part_id:
        ids.append(f"supplier part id {line.supplier_part_id}")
    return " / ".join(ids)


def resolve_part(snapshot: ReferenceSnapshot, line: OrderLine) -> PartRef | Hold:
    by_supplier = snapshot.parts.get(line.supplier_part_id or "")
    xref_id = snapshot.xref.get(line.customer_part_number) if line.customer_part_number else None
    if by_supplier and xref_id and xref_id != by_supplier.part_id:
        return Hold(
            code=HoldCode.PART,
            line_number=line.line_number,
            part_number=part_as_sent(line),
            reason=(
                f"line {line.line_number}: customer part number {line.customer_part_number} "
                f"maps to {xref_id} in the cross-reference but the supplier part id is "
                f"{by_supplier.part_id}"
            ),
        )
    part = by_supplier or (snapshot.parts.get(xref_id) if xref_id else None)
    if part is None:
        account = snapshot.account.account_number if snapshot.account else "the account"
        return Hold(
            code=HoldCode.PART,
            line_number=line.line_number,
            part_number=part_as_sent(line),
            reason=(
                f"line {line.line_number}: {_part_label(line)} is neither a known part "
                f"nor in account {account}'s cross-reference"
            ),
        )
    return part


def resolve_pool(part: PartRef, branch_id: str, line_number: int) -> str | Hold:
    pools = part.pools.get(branch_id, [])
    if len(pools) == 1:
        return pools[0]
    if not pools:
        reason = (
            f"line {line_number}: part {part.part_id} has no inventory pool at branch {branch_id}"
        )
    else:
        reason = f"line {line_number}: multiple pool failure: part {part.part_id} is in pools {', '.join(sorted(pools))} at branch {branch_id}"
    return Hold(code=HoldCode.POOL, line_number=line_number, reason=reason)


@dataclass(frozen=True)
class UnitFit:
    uom: str  # a unit the part is sold in
    quantity: Decimal  # the ordered quantity in that unit
    factor: Decimal  # base units per ordered unit


def resolve_uom(snapshot: ReferenceSnapshot, part: PartRef, line: OrderLine) -> UnitFit | Hold:
    """The ordered unit is one the part is sold in, or converts exactly into one."""
    if line.uom in part.uoms:
        return UnitFit(line.uom, line.quantity, part.uoms[line.uom])
    if line.uom == part.base_uom:
        factor: Decimal | None = Decimal(1)
    else:
        factor = snapshot.conversions.get(line.uom, {}).get(part.base_uom)
    if factor is None:
        return Hold(
            code=HoldCode.UOM,
            line_number=line.line_number,
            reason=f"line {line.line_number}: unit {line.uom} is not one part {part.part_id} is sold in ({', '.join(sorted(part.uoms))})",
        )
    base_quantity = line.quantity * factor
    for uom, uom_factor in sorted(part.uoms.items(), key=lambda kv: kv[1]):
        converted = base_quantity / uom_factor
        if converted == converted.to_integral_value():
            return UnitFit(uom, converted, factor)
    return Hold(
        code=HoldCode.UOM,
        line_number=line.line_number,
        reason=f"line {line.line_number}: {line.quantity} {line.uom} of {part.part_id} does not convert exactly into {', '.join(sorted(part.uoms))}",
    )


def contract_price(
    snapshot: ReferenceSnapshot, part: PartRef, fit: UnitFit, ordered_uom: str
) -> Decimal | None:
    """The contract price per ordered unit, derived from any unit that has one."""
    prices = snapshot.prices_cents.get(part.part_id, {})
    if ordered_uom in prices:
        return Decimal(prices[ordered_uom]) / 100
    for uom, cents in sorted(prices.items()):
        if uom in part.uoms:
            # Multiply before dividing, so 10.00 per 3 × 24 is 80.00, not 79.99…
            return Decimal(cents) * fit.factor / part.uoms[uom] / 100
    return None


def check_price(expected: Decimal | None, line: OrderLine, part: PartRef) -> Hold | None:
    if expected is None:
        return Hold(
            code=HoldCode.PRICE,
            line_number=line.line_number,
            reason=f"line {line.line_number}: no contract price for part {part.part_id} on this account",
        )
    if line.unit_price != line.unit_price.quantize(CENT) or line.unit_price != expected:
        return Hold(
            code=HoldCode.PRICE,
            line_number=line.line_number,
            reason=(
                f"line {line.line_number}: PO price {line.unit_price} {line.uom} differs from contract price "
                f"{_money(expected)} for part {part.part_id}"
            ),
        )
    return None


def _money(value: Decimal) -> str:
    exact = value.quantize(CENT)
    return str(exact) if exact == value else f"{value:.4f}"


def line_as_sent(line: OrderLine, part_id: str | None = None, pool_id: str = "") -> ResolvedLine:
    """A line whose part or unit did not resolve, for the OMS draft: the part as
    resolved, else as the buyer sent it; the PO's unit, quantity and price."""
    return ResolvedLine(
        line_number=line.line_number,
        part_id=part_id or part_as_sent(line),
        pool_id=pool_id,
        uom=line.uom,
        quantity=line.quantity,
        unit_price=line.unit_price,
        resolved=False,
    )


def validate_order(
    order: PurchaseOrder, snapshot: ReferenceSnapshot, default_sla: timedelta
) -> ValidationResult:
    """The holds, and every PO line for OMS: resolved, or as sent where it did not."""
    account_hold = check_account(snapshot, order.account_number)
    if snapshot.account is None:
        return ValidationResult(
            holds=[account_hold] if account_hold else [],
            lines=[line_as_sent(line) for line in order.lines],
            sla=default_sla,
        )
    holds: list[Hold] = [account_hold] if account_hold else []
    account = snapshot.account
    ship_to = resolve_ship_to(snapshot, order.ship_to)
    branch_id = None
    if isinstance(ship_to, Hold):
        holds.append(ship_to)
    else:
        branch_id = ship_to.branch_id

    resolved: list[ResolvedLine] = []
    for line in order.lines:
        part = resolve_part(snapshot, line)
        if isinstance(part, Hold):
            holds.append(part)
            resolved.append(line_as_sent(line))
            continue
        pool = resolve_pool(part, branch_id, line.line_number) if branch_id else None
        if isinstance(pool, Hold):
            holds.append(pool)
        pool_id = pool if isinstance(pool, str) else ""
        fit = resolve_uom(snapshot, part, line)
        if isinstance(fit, Hold):
            holds.append(fit)
            resolved.append(line_as_sent(line, part.part_id, pool_id))
            continue
        price_hold = check_price(contract_price(snapshot, part, fit, line.uom), line, part)
        if price_hold:
            holds.append(price_hold)
        resolved.append(
            ResolvedLine(
                line_number=line.line_number,
                part_id=part.part_id,
                pool_id=pool_id,
                uom=fit.uom,
                quantity=fit.quantity,
                unit_price=line.quantity * line.unit_price / fit.quantity,
            )
        )
    sla = timedelta(minutes=account.sla_minutes) if account.sla_minutes is not None else default_sla
    return ValidationResult(
        account_name=account.name,
        branch_id=branch_id,
        holds=holds,
        lines=resolved,
        rep_id=account.rep_id,
        rep_email=account.rep_email,
        sla=sla,
    )
