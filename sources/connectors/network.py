"""Which hosts a connector may reach.

Scanning connects to addresses that users type in, so the worker must not become a way into the cloud metadata
service or the link-local network. :func:`check_target_host` resolves the host (every address), refuses metadata
and link-local addresses always, refuses anything on the deny list, and, when the allow list is not empty,
requires the host to be on it.

IPv6 addresses that carry an IPv4 address are judged as the IPv4 address(es) they carry (:func:`judged_as`):
IPv4-mapped (``::ffff:127.0.0.1``), IPv4-compatible (``::127.0.0.1``), 6to4 (``2002:7f00:1::``), Teredo, and NAT64
(``64:ff9b::10.0.0.1``, RFC 6052; the local-use prefix ``64:ff9b:1::/48`` of RFC 8215 under every prefix length the
operator may have chosen): a NAT64 gateway or 6to4 relay delivers them to that IPv4 address, so the link-local,
metadata, deny and local checks apply to it as well as to the IPv6 address itself.

Addresses of *this machine* — loopback, the unspecified address (``0.0.0.0`` and ``::`` reach the local host on
Linux), IPv6 spellings of them (``::ffff:127.0.0.1``, ``64:ff9b::127.0.0.1``) and every address of a local network
interface — are judged as local. :attr:`HostPolicy.allow_local` lets them through (development: Racine scans
local databases); otherwise only an allow entry that names them does: an address or network containing them (a
catch-all ``/0`` names nothing) or the exact host name. Local interface addresses are read with
:func:`psutil.net_if_addrs` (``getifaddrs(3)``: every address of every interface, secondary IPv4 addresses included,
which an ioctl per interface would miss).

It returns the resolved addresses; connectors connect to one of those, so a second DNS answer cannot differ from
the one that was checked.
"""
from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

import psutil

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
THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")  # "this host on this network": Linux routes 0.x.y.z locally


@dataclass(frozen=True)
class HostPolicy:
    """Allow / deny entries: CIDRs (``10.0.0.0/8``), addresses, or host names (globs allowed: ``*.corp``).

    ``allow_local``: may targets on this machine be reached without an allow entry naming them?
    ``protected``: databases no connector may read (Racine's own), recognised after connecting.
    """

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    allow_local: bool = True
    protected: tuple = ()  # DatabaseIdentity values (base.py)

    def __post_init__(self):
        object.__setattr__(self, "allow", tuple(self.allow))
        object.__setattr__(self, "deny", tuple(self.deny))
        object.__setattr__(self, "protected", tuple(self.protected))
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
    """IPv4-mapped IPv6 (``::ffff:169.254.169.254``) is the IPv4 address it carries: the kernel connects to it."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052
NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: the operator picks a prefix length in it
_RFC6052_PREFIX_LENGTHS = (48, 56, 64, 96)
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated (RFC 4291), still routed by some stacks


def _rfc6052_ipv4(address: ipaddress.IPv6Address, prefix_length: int) -> ipaddress.IPv4Address | None:
    """The IPv4 address embedded after a NAT64 prefix of ``prefix_length`` bits (RFC 6052 §2.2), or None when the
    address is not well formed for that length: bits 64-71 (the "u" octet) and the suffix after the IPv4 bits
    must be zero, so an ordinary ``/96`` address is not also read as ``0.0.0.0`` under a ``/48``."""
    bits = int(address)
    if prefix_length == 96:
        return ipaddress.IPv4Address(bits & 0xFFFFFFFF)
    if (bits >> 56) & 0xFF:
        return None
    without_u = ((bits >> 64) << 56) | (bits & ((1 << 56) - 1))  # 120 bits, the IPv4 bits now contiguous
    suffix_bits = 120 - prefix_length - 32
    if without_u & ((1 << suffix_bits) - 1):
        return None
    return ipaddress.IPv4Address((without_u >> suffix_bits) & 0xFFFFFFFF)


def embedded_ipv4(address: IPAddress) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address is delivered to through a translator or tunnel; () for none."""
    if address.version == 4:
        return ()
    if address.ipv4_mapped is not None:
        return (address.ipv4_mapped,)
    if address in NAT64_WELL_KNOWN:
        return (_rfc6052_ipv4(address, 96),)
    if address in NAT64_LOCAL_USE:
        found = (_rfc6052_ipv4(address, length) for length in _RFC6052_PREFIX_LENGTHS)
        return tuple(dict.fromkeys(v4 for v4 in found if v4 is not None))
    if address.sixtofour is not None:
        return (address.sixtofour,)
    if address.teredo is not None:
        return address.teredo  # (server, client)
    if address in IPV4_COMPATIBLE and int(address) > 1:  # not :: nor ::1, which are judged as themselves
        return (ipaddress.IPv4Address(int(address)),)
    return ()


def judged_as(address: IPAddress) -> tuple[IPAddress, ...]:
    """The address itself and every IPv4 address it carries: each must pass the policy's refusals."""
    return (_plain(address), *embedded_ipv4(address))


def local_addresses() -> set[IPAddress]:
    """Every address of every network interface of this machine, read now (interfaces come and go)."""
    found: set[IPAddress] = set()
    for addresses in psutil.net_if_addrs().values():
        for entry in addresses:
            if entry.family in (socket.AF_INET, socket.AF_INET6):
                found.add(_plain(ipaddress.ip_address(entry.address.split("%", 1)[0])))
    return found


def is_local(address: IPAddress, local: set[IPAddress] | None = None) -> bool:
    """Does ``address`` (any spelling: an IPv4 address carried in IPv6 is judged too) reach this machine?"""
    local = local_addresses() if local is None else local
    return any(_is_local_plain(candidate, local) for candidate in judged_as(address))


def _is_local_plain(address: IPAddress, local: set[IPAddress]) -> bool:
    if address.is_loopback or address.is_unspecified:
        return True
    if address.version == 4 and address in THIS_NETWORK:
        return True
    return address in local


def unbracketed(host: str) -> str:
    """``[::1]`` (an IPv6 literal as URLs write it) is the host ``::1``."""
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def resolve(host: str, port: int | None) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(unbracketed(host), port, type=socket.SOCK_STREAM)
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


def _names_local(address: IPAddress, name: str, allow_nets: list[IPNetwork], allow_names: list[str]) -> bool:
    """Does an allow entry name this local address: a network holding it (not a catch-all) or the exact name?"""
    return name in allow_names or any(
        net.prefixlen > 0 and address.version == net.version and address in net for net in allow_nets)


def _in_any(address: IPAddress, networks: list[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def _allowed_by_net(address: IPAddress, allow_nets: list[IPNetwork]) -> bool:
    """Inside an allowed network, or every IPv4 address it carries is (``10.0.0.0/8`` allows ``64:ff9b::a00:1``)."""
    embedded = embedded_ipv4(address)
    return _in_any(address, allow_nets) or bool(embedded) and all(_in_any(v4, allow_nets) for v4 in embedded)


def _refuse(host: str, name: str, address: IPAddress, judged: IPAddress, deny_nets: list[IPNetwork],
            allow_nets: list[IPNetwork], allow_names: list[str], local: set[IPAddress], allow_local: bool) -> None:
    """Raise if ``judged`` (``address`` itself or an IPv4 address it carries) is refused."""
    seen = str(address) if judged == address else f"{address} (which carries {judged})"
    if judged in METADATA_ADDRESSES:
        raise TargetNotAllowed(f"host {host!r} resolves to {seen}, a cloud metadata address: refused")
    if any(judged in net for net in LINK_LOCAL if net.version == judged.version):
        raise TargetNotAllowed(f"host {host!r} resolves to {seen}, a link-local address: refused")
    for net in deny_nets:
        if judged.version == net.version and judged in net:
            raise TargetNotAllowed(f"host {host!r} resolves to {seen}, inside denied network {net}")
    if not allow_local and _is_local_plain(judged, local) and not _names_local(judged, name, allow_nets,
                                                                               allow_names):
        raise TargetNotAllowed(f"host {host!r} resolves to {seen}, an address of this machine: refused "
                               f"unless the allow list names it")


def check_target_host(host: str, port: int | None, *, allow: Sequence[str] = (), deny: Sequence[str] = (),
                      allow_local: bool = True) -> list[str]:
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
    local = local_addresses()
    for address in addresses:
        for judged in judged_as(address):
            _refuse(host, name, address, judged, deny_nets, allow_nets, allow_names, local, allow_local)
    if allow_nets or allow_names:
        by_name = any(fnmatchcase(name, pattern) for pattern in allow_names)
        by_net = all(_allowed_by_net(address, allow_nets) for address in addresses)
        if not (by_name or by_net):
            raise TargetNotAllowed(
                f"host {host!r} ({', '.join(map(str, addresses))}) is not on the allow list")
    return [str(a) for a in addresses]
