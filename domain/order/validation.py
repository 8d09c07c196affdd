"""The six PunchOut validation rules, as pure functions over a snapshot of the
reference data. Each failure is a hold with a code the team knows from the SOP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from pydantic import BaseModel

from domain.order.fixes import LineFix, OrderFixes
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
    team_lead_id: str | None = None


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
    active: bool = True


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


def _part_hold(line: OrderLine, reason: str) -> Hold:
    return Hold(
        code=HoldCode.PART,
        line_number=line.line_number,
        part_number=part_as_sent(line),
        reason=f"line {line.line_number}: {reason}",
    )


def resolve_part(
    snapshot: ReferenceSnapshot, line: OrderLine, mapped: str | None = None
) -> PartRef | Hold:
    """The line's part: the one a person mapped it to, else by supplier part id
    or the account's cross-reference. It must exist and be active."""
    if mapped is not None:
        found = snapshot.parts.get(mapped)
        if found is None:
            return _part_hold(line, f"part {mapped} does not exist")
        if not found.active:
            return _part_hold(line, f"part {mapped} is inactive")
        return found
    resolved = _resolve_part_as_sent(snapshot, line)
    if isinstance(resolved, PartRef) and not resolved.active:
        return _part_hold(
            line, f"{_part_label(line)} is part {resolved.part_id}, which is inactive"
        )
    return resolved


def _resolve_part_as_sent(snapshot: ReferenceSnapshot, line: OrderLine) -> PartRef | Hold:
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


def choose_pool(part: PartRef, branch_id: str, line_number: int, chosen: str) -> str | Hold:
    """A pool a person chose: one of the part's pools at the branch."""
    pools = sorted(part.pools.get(branch_id, []))
    if chosen in pools:
        return chosen
    held = f"its pools there are {', '.join(pools)}" if pools else "it has no pool there"
    return Hold(
        code=HoldCode.POOL,
        line_number=line_number,
        reason=(
            f"line {line_number}: pool {chosen} does not hold part {part.part_id} at branch "
            f"{branch_id}; {held}"
        ),
    )


@dataclass(frozen=True)
class UnitFit:
    uom: str  # a unit the part is sold in
    quantity: Decimal  # the ordered quantity in that unit
    factor: Decimal  # base units per ordered unit


def resolve_uom(
    snapshot: ReferenceSnapshot, part: PartRef, line: OrderLine, *, fixed: bool = False
) -> UnitFit | Hold:
    """The ordered unit is one the part is sold in, or converts exactly into one.
    A unit a person `fixed` must be one the part is sold in."""
    if line.uom in part.uoms:
        return UnitFit(line.uom, line.quantity, part.uoms[line.uom])
    if fixed:
        return Hold(
            code=HoldCode.UOM,
            line_number=line.line_number,
            reason=f"line {line.line_number}: unit {line.uom} is not one part {part.part_id} is sold in ({', '.join(sorted(part.uoms))})",
        )
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


def check_price(
    expected: Decimal | None, line: OrderLine, part: PartRef, label: str = "PO price"
) -> Hold | None:
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
                f"line {line.line_number}: {label} {line.unit_price} {line.uom} differs from contract price "
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


def _waiting_on(line_number: int, fix: LineFix, codes: set[HoldCode], why: str) -> list[Hold]:
    """Holds for fixes whose rule cannot run yet, saying what comes first."""
    return [
        Hold(code=code, line_number=line_number, reason=f"line {line_number}: {why}")
        for code in fix.codes()
        if code in codes
    ]


AFTER_ACCOUNT = {HoldCode.PART, HoldCode.POOL, HoldCode.UOM, HoldCode.PRICE}
AFTER_PART = {HoldCode.POOL, HoldCode.UOM, HoldCode.PRICE}
NO_ACCOUNT = "the account is not known yet; fix the account first"
NO_PART = "the part is not known yet; map the part first"
NO_SHIP_TO = "the ship-to is not known yet; choose the ship-to first"
NO_UNIT = "the unit is not settled yet; fix the unit first"


def _price_hold(
    snapshot: ReferenceSnapshot,
    part: PartRef,
    fit: UnitFit,
    line: OrderLine,
    fix: LineFix,
    unit_price: Decimal,
) -> Hold | None:
    """The PRICE rule, honouring an approval, a quote or invoice, or a corrected price."""
    if fix.price_approved:
        return None
    evidence = fix.price_evidence
    if evidence is not None:
        if evidence.uom == fit.uom and evidence.unit_price == unit_price:
            return None
        return Hold(
            code=HoldCode.PRICE,
            line_number=line.line_number,
            reason=(
                f"line {line.line_number}: {evidence.describe()} no longer matches the line "
                f"({_money(unit_price)} per {fit.uom})"
            ),
        )
    label = "corrected price" if fix.unit_price is not None else "PO price"
    return check_price(contract_price(snapshot, part, fit, line.uom), line, part, label)


def _check_line(
    snapshot: ReferenceSnapshot, sent: OrderLine, fix: LineFix, branch_id: str | None
) -> tuple[list[Hold], ResolvedLine]:
    line = fix.apply(sent)
    part = resolve_part(snapshot, line, fix.part_id)
    if isinstance(part, Hold):
        return [part, *_waiting_on(line.line_number, fix, AFTER_PART, NO_PART)], line_as_sent(line)
    holds: list[Hold] = []
    pool: str | Hold | None = None
    if branch_id is None:
        holds += _waiting_on(line.line_number, fix, {HoldCode.POOL}, NO_SHIP_TO)
    elif fix.pool_id:
        pool = choose_pool(part, branch_id, line.line_number, fix.pool_id)
    else:
        pool = resolve_pool(part, branch_id, line.line_number)
    if isinstance(pool, Hold):
        holds.append(pool)
    pool_id = pool if isinstance(pool, str) else ""
    fit = resolve_uom(snapshot, part, line, fixed=fix.uom is not None)
    if isinstance(fit, Hold):
        holds += [fit, *_waiting_on(line.line_number, fix, {HoldCode.PRICE}, NO_UNIT)]
        return holds, line_as_sent(line, part.part_id, pool_id)
    unit_price = line.quantity * line.unit_price / fit.quantity
    price_hold = _price_hold(snapshot, part, fit, line, fix, unit_price)
    if price_hold:
        holds.append(price_hold)
    resolved = ResolvedLine(
        line_number=line.line_number,
        part_id=part.part_id,
        pool_id=pool_id,
        uom=fit.uom,
        quantity=fit.quantity,
        unit_price=unit_price,
    )
    return holds, resolved


def recheck_order(
    order: PurchaseOrder, fixes: OrderFixes, snapshot: ReferenceSnapshot, default_sla: timedelta
) -> ValidationResult:
    """The holds, and every PO line for OMS (resolved, or as sent where it did
    not), with a person's fixes applied: a mapped part, a chosen pool or ship-to,
    a fixed unit, a corrected, approved or evidenced price, a rejected line.
    A fix that does not cure its hold leaves that hold, saying why; a fix whose
    rule cannot run yet leaves a hold of its code saying what must come first."""
    problem = fixes.problem(order)
    if problem:
        raise ValueError(problem)
    lines = [line for line in order.lines if not fixes.line(line.line_number).rejected]
    account_hold = check_account(snapshot, order.account_number)
    holds: list[Hold] = [account_hold] if account_hold else []
    if snapshot.account is None:
        if fixes.ship_to_address_id:
            holds.append(
                Hold(
                    code=HoldCode.ADDRESS,
                    address_id=fixes.ship_to_address_id,
                    reason=f"ship-to {fixes.ship_to_address_id}: {NO_ACCOUNT}",
                )
            )
        for line in lines:
            holds += _waiting_on(
                line.line_number, fixes.line(line.line_number), AFTER_ACCOUNT, NO_ACCOUNT
            )
        return ValidationResult(
            holds=holds,
            lines=[line_as_sent(fixes.line(line.line_number).apply(line)) for line in lines],
            sla=default_sla,
        )
    account = snapshot.account
    address = order.ship_to
    if fixes.ship_to_address_id:
        address = Address(address_id=fixes.ship_to_address_id)
    ship_to = resolve_ship_to(snapshot, address)
    branch_id = None
    if isinstance(ship_to, Hold):
        holds.append(ship_to)
    else:
        branch_id = ship_to.branch_id

    resolved: list[ResolvedLine] = []
    for line in lines:
        line_holds, resolved_line = _check_line(
            snapshot, line, fixes.line(line.line_number), branch_id
        )
        holds += line_holds
        resolved.append(resolved_line)
    sla = timedelta(minutes=account.sla_minutes) if account.sla_minutes is not None else default_sla
    return ValidationResult(
        account_name=account.name,
        branch_id=branch_id,
        holds=holds,
        lines=resolved,
        rep_id=account.rep_id,
        rep_email=account.rep_email,
        team_lead_id=account.team_lead_id,
        sla=sla,
    )


def validate_order(
    order: PurchaseOrder, snapshot: ReferenceSnapshot, default_sla: timedelta
) -> ValidationResult:
    """The holds, and every PO line for OMS: resolved, or as sent where it did not."""
    return recheck_order(order, OrderFixes(), snapshot, default_sla)
