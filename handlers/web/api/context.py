"""What the REST API's routes need from the service, set once on the application."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Final

from aiohttp import web

from flows.client_limits import Limit
from flows.places import Directory
from flows.sla import Policy

# A report is a few minutes' work for a person: more than this from one address is a
# script. A hotline's operators will use tokens, not these public limits.
REPORTS: Final = Limit("report", per_hour=10, burst=5)
STATUS: Final = Limit("status", per_hour=120, burst=20)


@dataclass(frozen=True, slots=True)
class Api:
    directory: Directory
    policy: Policy
    # Reverse proxies whose X-Forwarded-For is believed (their own address is not the
    # client's); empty: the connection's address is the client's.
    trusted_proxies: frozenset[str] = field(default_factory=frozenset)
    report_limit: Limit = REPORTS
    status_limit: Limit = STATUS


API_KEY = web.AppKey("api", Api)


def client_address(request: web.Request, trusted: frozenset[str]) -> str:
    """The client's address: the connection's, or — behind a trusted proxy — the last
    address in X-Forwarded-For that is not itself a trusted proxy (what comes before it
    could be made up by the client)."""
    remote = request.remote or "unknown"
    if remote not in trusted:
        return remote
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")]
    for hop in reversed(hops):
        if hop and hop not in trusted:
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return remote  # a forged or broken header: count it against the proxy
    return remote
