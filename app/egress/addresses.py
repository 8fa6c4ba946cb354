"""What kind of address an IP is, judged by explicit tables (not the interpreter's notion of
"global", which changes between Python versions), with IPv6 forms that carry an IPv4 address
judged by the address they carry."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _nets(*cidrs: str) -> tuple[IpNetwork, ...]:
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


# Cloud instance metadata answers with credentials: never a target, whatever the settings say.
METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)

# Class name → ranges, in the order they are tried (the first match names the class).
IPV4_CLASSES: tuple[tuple[str, tuple[IpNetwork, ...]], ...] = (
    ("unspecified", _nets("0.0.0.0/8")),
    ("loopback", _nets("127.0.0.0/8")),
    ("link-local", _nets("169.254.0.0/16")),
    ("private", _nets("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")),
    ("shared", _nets("100.64.0.0/10")),
    ("multicast", _nets("224.0.0.0/4")),
    ("broadcast", _nets("255.255.255.255/32")),
    ("reserved", _nets("240.0.0.0/4", "192.0.0.0/24")),
    ("documentation", _nets("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")),
    ("benchmarking", _nets("198.18.0.0/15")),
    ("deprecated", _nets("192.88.99.0/24")),  # 6to4 relay anycast (RFC 7526)
)

IPV6_CLASSES: tuple[tuple[str, tuple[IpNetwork, ...]], ...] = (
    ("unspecified", _nets("::/128")),
    ("loopback", _nets("::1/128")),
    ("link-local", _nets("fe80::/10")),
    ("private", _nets("fc00::/7")),  # unique local addresses
    ("multicast", _nets("ff00::/8")),
    ("deprecated", _nets("fec0::/10", "::/96", "2001:10::/28")),  # site-local, IPv4-compatible,
    # ORCHID (v1)
    ("discard", _nets("100::/64")),
    ("documentation", _nets("2001:db8::/32", "3fff::/20")),
    ("benchmarking", _nets("2001:2::/48")),
    ("local-use NAT64", _nets("64:ff9b:1::/48")),  # local-use translation, reaches internal IPv4
    ("reserved", _nets("2001::/23", "5f00::/16", "::/8", "100::/8")),
)

GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
MAPPED = ipaddress.ip_network("::ffff:0:0/96")
TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
TEREDO = ipaddress.ip_network("2001::/32")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")

# Classes an operator may open with `allow_private_networks`.
PRIVATE_CLASSES = frozenset({"private"})


@dataclass(frozen=True, slots=True)
class Verdict:
    """Why an address is not public: its class, and the IPv4 it carries if that decided it."""

    kind: str
    carried: ipaddress.IPv4Address | None = None

    def describe(self) -> str:
        article = "an" if self.kind[0] in "aeiou" else "a"
        text = f"{article} {self.kind} address"
        if self.carried is not None:
            return f"{text} (carries {self.carried})"
        return text


def carried_ipv4(address: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 form carries and the form's name: IPv4-mapped, SIIT-translated,
    NAT64 well-known prefix, 6to4. (Teredo and IPv4-compatible are refused as a whole.)"""
    packed = address.packed
    if address in MAPPED or address in TRANSLATED or address in NAT64:
        form = "IPv4-mapped" if address in MAPPED else "translated"
        if address in NAT64:
            form = "NAT64"
        return form, ipaddress.IPv4Address(packed[12:16])
    if address in SIX_TO_FOUR:
        return "6to4", ipaddress.IPv4Address(packed[2:6])
    return None


def classify(address: IpAddress) -> Verdict | None:
    """None for a public unicast address; otherwise the class that makes it not one."""
    if isinstance(address, ipaddress.IPv4Address):
        return _classify_v4(address)
    if address.scope_id:
        return Verdict("link-local")  # zone ids only make sense on a local link
    carried = carried_ipv4(address)
    if carried is not None:
        form, ipv4 = carried
        inner = _classify_v4(ipv4)
        if inner is not None:
            return Verdict(inner.kind, ipv4)
        if form == "translated":
            return Verdict("reserved")  # SIIT addresses are not routed on the internet
        return None
    if address in IPV4_COMPATIBLE and int(address) > 1:
        ipv4 = ipaddress.IPv4Address(address.packed[12:16])
        return Verdict("deprecated IPv4-compatible", ipv4)
    if address in TEREDO:
        server, client = address.teredo or (None, None)
        for ipv4 in (client, server):
            if ipv4 is not None and _classify_v4(ipv4) is not None:
                return Verdict(_classify_v4(ipv4).kind, ipv4)  # type: ignore[union-attr]
        return Verdict("teredo")
    for kind, networks in IPV6_CLASSES:
        if any(address in network for network in networks):
            return Verdict(kind)
    if address not in GLOBAL_UNICAST_V6:
        return Verdict("reserved")
    return None


def _classify_v4(address: ipaddress.IPv4Address) -> Verdict | None:
    for kind, networks in IPV4_CLASSES:
        if any(address in network for network in networks):
            return Verdict(kind)
    return None


def parse_ip(text: str) -> IpAddress | None:
    """An IP literal (brackets and IPv6 zone ids accepted), or None for a host name."""
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def local_only_overlap(network: IpNetwork) -> bool:
    """Whether `network` reaches loopback, link-local or unspecified addresses, directly or
    through an IPv6 form that carries them."""
    local = _nets(
        "0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "::/128", "::1/128", "fe80::/10",
        "::ffff:0.0.0.0/104", "::ffff:127.0.0.0/104", "::ffff:169.254.0.0/112",
        "64:ff9b::7f00:0/104", "2002:7f00::/24", "2002:a9fe::/32",
    )  # fmt: skip
    return any(network.version == n.version and network.overlaps(n) for n in local)  # type: ignore[arg-type]
