#!/opt/scavenger/bin/python
"""Prints this container's name as Docker's embedded DNS knows it (``scavenger_miner_2`` with
docker-compose 1.x, ``scavenger-miner-2`` with Compose v2), or nothing when it cannot be told.

The entrypoint uses the trailing number, the Compose replica index, as the miner's slot, so
``--scale miner=N`` gives container 1 slot 1, container 2 slot 2, and a recreated container its own slot
back. Inside a container nothing else knows the index: the hostname is the container id, compose cannot
template one value per replica, and the Docker API is (rightly) not mounted. The embedded DNS server
(127.0.0.11 on user-defined networks) answers a reverse (PTR) query for the container's address with
``<container name>.<network>``. /etc/hosts maps that address to the container id, so the system resolver
(which reads files first) cannot be used; the image has no DNS tool, hence this one small query.

Exit status 0 with the name on stdout, 1 with nothing (no embedded DNS: plain ``docker run`` on the default
bridge, Kubernetes, another runtime).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
import sys

TIMEOUT = 2.0
EMBEDDED_DNS = "127.0.0.11"


def own_addresses() -> list[str]:
    """IPv4 addresses of this container, from the /etc/hosts line Docker writes for its hostname."""
    hostname = socket.gethostname()
    found = []
    try:
        with open("/etc/hosts", encoding="utf-8") as hosts:
            for line in hosts:
                fields = line.split("#", 1)[0].split()
                if len(fields) >= 2 and hostname in fields[1:]:
                    address = ipaddress.ip_address(fields[0])
                    if address.version == 4 and not address.is_loopback:
                        found.append(str(address))
    except (OSError, ValueError):
        return []
    return found


def read_name(packet: bytes, offset: int) -> tuple[str, int]:
    """A possibly compressed domain name at ``offset``; returns it and the offset after it."""
    labels: list[str] = []
    end = -1
    for _ in range(128):  # bounded: a malicious pointer loop must not hang the entrypoint
        length = packet[offset]
        if length == 0:
            offset += 1
            break
        if length & 0xC0 == 0xC0:
            if end < 0:
                end = offset + 2
            offset = struct.unpack_from("!H", packet, offset)[0] & 0x3FFF
            continue
        labels.append(packet[offset + 1 : offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length
    return ".".join(labels), (end if end >= 0 else offset)


def ptr_query(address: str, server: str = EMBEDDED_DNS) -> str | None:
    """The first PTR answer for ``address`` from ``server``, or None."""
    query_id = int.from_bytes(os.urandom(2), "big")
    qname = b"".join(
        bytes([len(part)]) + part.encode() for part in [*reversed(address.split(".")), "in-addr", "arpa"]
    )
    packet = struct.pack("!HHHHHH", query_id, 0x0100, 1, 0, 0, 0) + qname + b"\0" + struct.pack("!HH", 12, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(TIMEOUT)
        sock.sendto(packet, (server, 53))
        reply, _ = sock.recvfrom(4096)
    reply_id, flags, questions, answers = struct.unpack_from("!HHHH", reply, 0)
    if reply_id != query_id or flags & 0x000F or answers == 0:
        return None
    offset = 12
    for _ in range(questions):
        _, offset = read_name(reply, offset)
        offset += 4
    for _ in range(answers):
        _, offset = read_name(reply, offset)
        rtype, _, _, length = struct.unpack_from("!HHIH", reply, offset)
        offset += 10
        if rtype == 12:
            return read_name(reply, offset)[0]
        offset += length
    return None


def main() -> int:
    for address in own_addresses():
        try:
            name = ptr_query(address)
        except (OSError, IndexError, struct.error):
            continue
        if name:
            # "<container>.<network>": the container name is the first label.
            print(name.split(".", 1)[0])
            return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
