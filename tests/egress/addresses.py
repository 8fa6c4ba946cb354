"""The egress table: addresses the broker must never connect to, by class, and public ones it
must reach. Shared by the literal, BIND-name, CA-URL and webhook tests."""

from __future__ import annotations

REFUSED: dict[str, list[str]] = {
    "loopback": [
        "127.0.0.1", "127.1.2.3", "127.255.255.254", "::1",
        "::ffff:127.0.0.1", "::ffff:7f00:2", "64:ff9b::127.0.0.1", "2002:7f00:1::",
    ],
    "unspecified": ["0.0.0.0", "0.1.2.3", "::", "::ffff:0.0.0.0"],
    "link-local": [
        "169.254.1.1", "169.254.255.254", "fe80::1", "febf::1",
        "::ffff:169.254.10.10", "64:ff9b::a9fe:101", "2002:a9fe:101::",
    ],
    "metadata": ["169.254.169.254", "fd00:ec2::254", "::ffff:169.254.169.254", "100.100.100.200"],
    "private": [
        "10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.254", "192.168.1.1",
        "fc00::1", "fd12:3456::1", "::ffff:10.1.2.3", "::ffff:192.168.0.1",
        "64:ff9b::10.0.0.1", "2002:c0a8:101::1",
    ],
    "shared": ["100.64.0.1", "100.127.255.254", "::ffff:100.64.0.1"],
    "multicast": ["224.0.0.1", "239.255.255.250", "ff02::1", "ff05::2", "::ffff:224.0.0.251"],
    "reserved": [
        "240.0.0.1", "255.255.255.255", "192.0.0.8", "100::1", "5f00::1", "::ffff:0:8.8.8.8",
        "2001::1", "2001:4:112::1", "64:ff9b:1::a00:1", "1::1", "4000::1",
    ],
    "deprecated": [
        "fec0::1", "feff::1", "::127.0.0.1", "::8.8.8.8", "192.88.99.1", "2001:10::1",
    ],
    "documentation": [
        "192.0.2.1", "198.51.100.7", "203.0.113.9", "2001:db8::1", "3fff::1",
        "::ffff:192.0.2.1",
    ],
    "benchmarking": ["198.18.0.1", "198.19.255.254", "2001:2::1"],
    "teredo": [
        # Teredo with its server/client judged: loopback client, private server, and public
        "2001:0:4136:e378:8000:63bf:80ff:fffe",
        "2001:0:0a00:0001::",
        "2001:0:4136:e378:8000:63bf:f7f7:f7f7",
    ],
}  # fmt: skip

PUBLIC = [
    "8.8.8.8", "1.1.1.1", "93.184.216.34", "9.9.9.9",
    "2606:4700:4700::1111", "2a00:1450:4001:80b::200e", "::ffff:8.8.8.8",
    "64:ff9b::8.8.8.8", "2002:808:808::1",
]  # fmt: skip

ALL_REFUSED = [(kind, address) for kind, addresses in REFUSED.items() for address in addresses]
