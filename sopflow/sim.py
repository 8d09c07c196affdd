"""`sopflow sim`: switch a simulated system off, on or to flaky, through the
simulators' fault API (`/_faults`), for an operator trying the outage path."""

from __future__ import annotations

from typing import Any

import httpx

ACTIONS = ("down", "up", "flaky", "status", "refuse")


class SimError(Exception):
    """What went wrong, said for the operator; `usage` when they asked for something
    that cannot be (exit 2), else the simulators did not answer or refused (exit 1)."""

    def __init__(self, message: str, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


def base_url(host: str, port: int) -> str:
    # A server bound to every address is reached on loopback.
    reach = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{reach}:{port}"


def describe(faults: dict[str, Any]) -> str:
    """`down`, `up`, or `flaky: 30% errors, 2000 ms latency`."""
    if faults.get("down"):
        return "down"
    if faults.get("refuse_with"):
        return f"refusing every call with {faults['refuse_with']}"
    parts = []
    if faults.get("error_rate"):
        parts.append(f"{float(faults['error_rate']) * 100:g}% errors")
    if faults.get("latency_ms"):
        parts.append(f"{faults['latency_ms']} ms latency")
    return f"flaky: {', '.join(parts)}" if parts else "up"


def table(all_faults: dict[str, dict[str, Any]]) -> str:
    width = max(len(name) for name in all_faults)
    return "\n".join(f"{name:<{width}}  {describe(f)}" for name, f in all_faults.items())


def request_for(
    target: str,
    action: str | None,
    error_rate: float | None,
    latency_ms: int | None,
    status: int | None = None,
) -> tuple[str, str, dict[str, Any] | None]:
    """(HTTP method, path, body) for what the operator asked."""
    if target == "reset":
        if action is not None:
            raise SimError("`sopflow sim reset` takes no action", usage=True)
        return "DELETE", "/_faults", None
    if target == "status" and action is None:
        return "GET", "/_faults", None
    if action is None:
        raise SimError(f"what should {target} do? one of: {', '.join(ACTIONS)}", usage=True)
    if action not in ACTIONS:
        raise SimError(f"unknown action {action!r}; one of: {', '.join(ACTIONS)}", usage=True)
    if action != "flaky" and (error_rate is not None or latency_ms is not None):
        raise SimError("--error-rate and --latency-ms go with `flaky`", usage=True)
    if action != "refuse" and status is not None:
        raise SimError("--status goes with `refuse`", usage=True)
    path = f"/_faults/{target}"
    if action == "status":
        return "GET", path, None
    if action == "down":
        return "PUT", path, {"down": True}
    if action == "up":
        return "PUT", path, {}
    if action == "refuse":  # as a system refusing our credentials (401) or path (404)
        return "PUT", path, {"refuse_with": status or 401}
    if not error_rate and not latency_ms:
        raise SimError("flaky needs --error-rate and/or --latency-ms", usage=True)
    return "PUT", path, {"error_rate": error_rate or 0.0, "latency_ms": latency_ms or 0}


def run(
    url: str,
    target: str,
    action: str | None,
    error_rate: float | None = None,
    latency_ms: int | None = None,
    status: int | None = None,
) -> str:
    """Do it and answer what the operator reads: each system touched and its state."""
    method, path, body = request_for(target, action, error_rate, latency_ms, status)
    try:
        resp = httpx.request(method, url + path, json=body, timeout=5)
    except httpx.HTTPError as exc:
        raise SimError(
            f"the simulators at {url} are not answering ({type(exc).__name__}); "
            "is the stack running (bin/dev)? its port: --sim-port or SOPFLOW_SIM_PORT"
        ) from None
    if resp.status_code >= 400:
        try:
            detail = resp.json()["detail"]
        except (ValueError, KeyError, TypeError):
            detail = resp.text[:200]
        if isinstance(detail, list):  # a validation error: say which value
            detail = "; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in detail)
        raise SimError(f"the simulators refused: {detail}")
    answer = resp.json()
    if path == "/_faults":
        return table(answer)
    return table({target: answer})
