"""The client's address, for rate limits only (never stored, never logged).

Behind a reverse proxy every request comes from the proxy; the proxy names the client in
X-Forwarded-For. That header is believed only from a proxy the deployment trusts
(`[web] trusted_proxies`): the client is the right-most address in it that is not itself a
trusted proxy. Anyone else's X-Forwarded-For is ignored, so it cannot be used to pose as
many addresses.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
TRUSTED_PROXIES: web.AppKey[tuple[Network, ...]] = web.AppKey("trusted_proxies")


def networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """Parse `10.0.0.1`, `10.0.0.0/8`, `::1`; raises ValueError for anything else."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def _trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_address(request: web.Request) -> str:
    remote = request.remote or "unknown"
    trusted = request.app.get(TRUSTED_PROXIES, ())
    if not trusted or not _trusted(remote, trusted):
        return remote
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")]
    for hop in reversed(hops):
        if not hop:
            continue
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return remote  # a malformed header: the proxy's own address, as without one
        if not _trusted(hop, trusted):
            return hop
    return remote
