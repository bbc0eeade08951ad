"""SSRF guard: a webhook URL must not reach into the plant's own network by accident.

Webhook URLs come from configuration that several people edit; a URL resolving to the
loopback interface, a private network, a link-local address or a cloud metadata service
would let that configuration read internal services. Every address a host resolves to is
checked (one bad A record is enough to refuse), at configuration check time and again right
before each send, since DNS answers change.

Residual risk, stated plainly: httpx resolves the name again when it connects, so a DNS
server answering differently within that window (rebinding) is not fully closed here.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from alerts.errors import TargetRefused, TargetUnresolvable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS IPv6
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure wire server
    )
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, internal in practice


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver returns for ``host``."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetUnresolvable(f"webhook host {host!r} does not resolve: {exc}") from None
    return sorted({str(info[4][0]) for info in infos})


def address_class(address: IPAddress) -> str | None:
    """Why ``address`` is not a public unicast address (``None`` when it is)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return "metadata"
    if address.is_loopback or address.is_unspecified:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast or address.is_reserved:
        return "reserved"
    if address.is_private or (isinstance(address, ipaddress.IPv4Address) and address in _SHARED):
        return "private"
    return None


def check_target(
    url: str,
    *,
    allow_private: bool = False,
    allow_metadata: bool = False,
    resolver: Resolver = system_resolver,
) -> list[IPAddress]:
    """The addresses ``url`` resolves to, or `TargetRefused` naming the first forbidden one.

    ``allow_private`` lets loopback, private, link-local and reserved addresses through (a
    receiver on the plant network, a test receiver); metadata addresses need
    ``allow_metadata`` on top, because they hand out cloud credentials.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused(f"webhook URL {url!r} is not an http(s) URL with a host")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        literal: IPAddress | None = ipaddress.ip_address(parts.hostname)
    except ValueError:
        literal = None
    raw = [str(literal)] if literal is not None else resolver(parts.hostname, port)
    if not raw:
        raise TargetUnresolvable(f"webhook host {parts.hostname!r} resolves to no address")
    addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in raw]
    for address in addresses:
        kind = address_class(address)
        if kind is None:
            continue
        if kind == "metadata" and allow_metadata and allow_private:
            continue
        if kind != "metadata" and allow_private:
            continue
        flag = "allow_private and allow_metadata" if kind == "metadata" else "allow_private"
        raise TargetRefused(
            f"webhook URL {url!r} resolves to {address}, a {kind} address;"
            f" set {flag} on the endpoint to allow it"
        )
    return addresses
