"""Which hosts a connector may reach.

Scanning connects to addresses that users type in, so the worker must not become a way into the cloud metadata
service or the link-local network. :func:`check_target_host` resolves the host (every address), refuses metadata
and link-local addresses always, refuses anything on the deny list, and, when the allow list is not empty,
requires the host to be on it. Loopback is allowed unless denied (Racine scans local databases in development).
It returns the resolved addresses; connectors connect to one of those, so a second DNS answer cannot differ from
the one that was checked.
"""
from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from .errors import ConnectorConfigError, SourceUnavailable, TargetNotAllowed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA_ADDRESSES = frozenset({
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, ...
    ipaddress.ip_address("169.254.170.2"),    # AWS ECS task metadata
    ipaddress.ip_address("fd00:ec2::254"),    # AWS IMDS over IPv6
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
})
LINK_LOCAL = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))


@dataclass(frozen=True)
class HostPolicy:
    """Allow / deny entries: CIDRs (``10.0.0.0/8``), addresses, or host names (globs allowed: ``*.corp``)."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "allow", tuple(self.allow))
        object.__setattr__(self, "deny", tuple(self.deny))
        _split(self.allow)
        _split(self.deny)


def _split(entries: Sequence[str]) -> tuple[list[IPNetwork], list[str]]:
    networks: list[IPNetwork] = []
    names: list[str] = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            if any(ch in entry for ch in "/ "):
                raise ConnectorConfigError(f"invalid host policy entry {entry!r}") from None
            names.append(entry.lower().rstrip("."))
    return networks, names


def _plain(address: IPAddress) -> IPAddress:
    """IPv4-mapped IPv6 (``::ffff:169.254.169.254``) is judged as the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def resolve(host: str, port: int | None) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise SourceUnavailable(f"cannot resolve host {host!r}: {exc}") from None
    seen: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if address not in seen:
            seen.append(address)
    if not seen:
        raise SourceUnavailable(f"host {host!r} resolves to no address")
    return seen


def check_target_host(host: str, port: int | None, *, allow: Sequence[str] = (), deny: Sequence[str] = ()
                      ) -> list[str]:
    """Resolve ``host`` and return its addresses (as strings) if the policy allows every one of them.

    Raises :class:`TargetNotAllowed` (a :class:`ConnectorConfigError`) when refused, :class:`SourceUnavailable`
    when the name does not resolve.
    """
    if not host:
        raise ConnectorConfigError("no host given")
    allow_nets, allow_names = _split(allow)
    deny_nets, deny_names = _split(deny)
    name = host.lower().rstrip(".")
    if any(fnmatchcase(name, pattern) for pattern in deny_names):
        raise TargetNotAllowed(f"host {host!r} is on the deny list")
    addresses = [_plain(a) for a in resolve(host, port)]
    for address in addresses:
        if address in METADATA_ADDRESSES:
            raise TargetNotAllowed(f"host {host!r} resolves to {address}, a cloud metadata address: refused")
        if any(address in net for net in LINK_LOCAL):
            raise TargetNotAllowed(f"host {host!r} resolves to {address}, a link-local address: refused")
        for net in deny_nets:
            if address.version == net.version and address in net:
                raise TargetNotAllowed(f"host {host!r} resolves to {address}, inside denied network {net}")
    if allow_nets or allow_names:
        by_name = any(fnmatchcase(name, pattern) for pattern in allow_names)
        by_net = all(any(a.version == n.version and a in n for n in allow_nets) for a in addresses)
        if not (by_name or by_net):
            raise TargetNotAllowed(
                f"host {host!r} ({', '.join(map(str, addresses))}) is not on the allow list")
    return [str(a) for a in addresses]
