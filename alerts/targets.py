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


_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215, RFC 6052 /48 layout
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d (not :: or ::1)
_ISATAP_IDS = (0x00005EFE, 0x02005EFE)  # RFC 5214 interface identifiers ...:[02]00:5efe:v4


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address that ``address`` carries inside it, by any of the standard
    embeddings: IPv4-mapped, IPv4-compatible, 6to4 (``2002::/16``), Teredo (server and
    client), NAT64 (well-known /96 and local-use /48) and ISATAP interface identifiers.
    Such an address reaches the IPv4 host through a translator or tunnel, so it is judged
    by that host."""
    found: list[ipaddress.IPv4Address] = []
    value = int(address)
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address in _IPV4_COMPATIBLE and value > 1:
        found.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if address in _NAT64_WELL_KNOWN:
        found.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    if address in _NAT64_LOCAL:
        # /48 prefix: IPv4 bits 0-15 in bits 48-63, bits 16-31 in 72-87 (bits 64-71 are "u").
        high = (value >> 64) & 0xFFFF
        low = (value >> 40) & 0xFFFF
        found.append(ipaddress.IPv4Address((high << 16) | low))
    if (value >> 32) & 0xFFFFFFFF in _ISATAP_IDS:
        found.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    return found


def address_class(address: IPAddress) -> str | None:
    """Why ``address`` is not a public unicast address (``None`` when it is).

    An IPv6 address embedding IPv4 is judged by the IPv4 it embeds (the first internal one
    wins); with only public IPv4 inside, it is as public as they are.
    """
    if isinstance(address, ipaddress.IPv6Address):
        kinds = [_ipv4_class(v4) for v4 in embedded_ipv4(address)]
        internal = next((k for k in kinds if k is not None), None)
        if internal is not None:
            return internal
        if kinds and _is_translation(address):
            return None  # a translator's or tunnel's prefix in front of a public IPv4
    return _ipv4_class(address)


def _is_translation(address: ipaddress.IPv6Address) -> bool:
    """Prefixes that only say "the IPv4 inside" (not ISATAP, which keeps its own prefix)."""
    return (
        address.ipv4_mapped is not None
        or address.sixtofour is not None
        or address.teredo is not None
        or any(address in net for net in (_IPV4_COMPATIBLE, _NAT64_WELL_KNOWN, _NAT64_LOCAL))
    )


def _ipv4_class(address: IPAddress) -> str | None:
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
