"""How a webhook sender signs a delivery, and how we check it.

`X-Signature: t=<unix seconds>,v1=<hex>` where the hex is the HMAC-SHA256,
under the secret both sides share, of `<t>.<the raw body>` (the scheme Stripe
and others use). The time is inside what is signed, so nobody can move it: a
captured delivery is refused once it is older than the tolerance, and within
the tolerance a redelivery is harmless (each event has an `event_id` the
workflow takes once). Several `v1=` values may be given: a sender changing its
secret signs with the old and the new one for a while."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

HEADER = "X-Signature"
# 9999-12-31T23:59:59Z: the latest time a datetime can say.
_LAST_SECOND = 253402300799
FORMAT = 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">'


def _mac(secret: str, at: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()


def sign(body: bytes, secret: str, at: int) -> str:
    """The header value for `body` sent at `at` (unix seconds)."""
    return f"t={at},v1={_mac(secret, at, body)}"


def _parts(header: str) -> tuple[int | None, list[str]]:
    at, macs = None, []
    for part in header.split(",")[:10]:
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit() and len(value) <= 12:
            at = int(value)
        elif name == "v1" and value:
            macs.append(value.strip().lower())
    return at, macs


def refusal(
    header: str | None, body: bytes, secret: str, *, now: datetime, tolerance: timedelta
) -> str | None:
    """Why a delivery is refused (401), or None when it is signed with `secret`
    within `tolerance` of `now`."""
    at, macs = _parts(header or "")
    if at is None or not macs:
        return f"missing or malformed {HEADER}; expected {FORMAT}"
    wanted = _mac(secret, at, body)
    if not any(hmac.compare_digest(wanted, given) for given in macs):
        return f"{HEADER} does not match the body (expected {FORMAT})"
    if abs(now.timestamp() - at) > tolerance.total_seconds():
        when = datetime.fromtimestamp(min(at, _LAST_SECOND), UTC).isoformat()
        return (
            f"the delivery was signed at {when}, more than "
            f"{int(tolerance.total_seconds())} s from now; a webhook is taken only "
            "within that time of its signing (send it again, newly signed)"
        )
    return None
