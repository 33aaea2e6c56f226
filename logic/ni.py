"""NI — Return network information (host port connections and traffic).

Request:  NI · network interface (1 A: 1 or X the host ports, 2 the second host
          interface, which hsmd does not have) · Ethernet statistics (1 N: 1 with
          the traffic totals, 0 without)
Response: NJ 00 · number of records (4 N) · per open TCP connection to a host port
          (TLS included), 26 characters: protocol (1 N: 0 TCP) · local port (4 H)
          · remote IPv4 address (8 H) · remote port (4 H) · state (1 N: 0
          established) · duration in seconds (8 N)
          · with statistics: bytes sent, bytes received (16 H each) · unicast
          packets sent, received · non-unicast packets sent, received · packets
          discarded on send, on receive · errors on send, on receive · unknown
          packets (8 H each)
Errors: 15 unknown interface, missing or trailing data · 82 Ethernet statistics
        flag not 0 or 1.

hsmd reports what it has: its frames stand for packets (a unit counts Ethernet
packets below TCP), datagrams and frames it had to drop are "discarded on
receive", and the counters it cannot have (non-unicast, unknown) are zero. UDP
has no connections, so it has no records. 8 H counters wrap at 2^32.

Uncertain (no manual text is public): whether ports are decimal or hex (hex
here: 4 decimal digits cannot hold a port above 9999, and the address beside
them is hex), the duration's unit, what interface X selects, and what flag 0
leaves out (here: the totals). An IPv6 peer, which the 8 H field cannot hold,
is reported as 00000000 unless it is IPv4-mapped.

Sources: mszeu/PayShieldPressureTest `pressureTest.py` (decode_ni: record and
totals layout, protocol and state codes, the request NI11, errors 01 and 82);
Shulyaka/iso8583tools `parser/formats/fields_thales.frm` ("Return Network
Information": the same fields and widths).
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError

COMMAND = "NI"
VERSION = "1.0.0"

HOST_PORTS = frozenset({"1", "X"})
SECOND_INTERFACE = "2"
TCP, ESTABLISHED = "0", "0"


def _ipv4_hex(address: str) -> str:
    """The peer as 8 H: dotted IPv4, or the IPv4 inside an IPv4-mapped IPv6 address."""
    dotted = address.rsplit(":", 1)[-1] if address.startswith("::ffff:") else address
    parts = dotted.split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) < 256 for p in parts):
        return "00000000"
    return "".join(f"{int(p):02X}" for p in parts)


def _h(value: int, width: int) -> str:
    return f"{value % 16**width:0{width}X}"


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    interface = fields.text(1, what="network interface")
    statistics = fields.text(1, what="Ethernet statistics flag")
    fields.end()
    if interface not in HOST_PORTS and interface != SECOND_INTERFACE:
        raise HsmError("15", f"network interface {interface!r} not 1, 2 or X")
    if statistics not in ("0", "1"):
        raise HsmError("82", f"Ethernet statistics flag {statistics!r} not 0 or 1")

    connections = [c for c in hsm.host_connections() if c.protocol in ("tcp", "tls")] if interface != SECOND_INTERFACE else []
    records = [
        TCP + _h(c.local_port, 4) + _ipv4_hex(c.remote_address) + _h(c.remote_port, 4) + ESTABLISHED + f"{min(c.seconds, 99999999):08d}"
        for c in connections[:9999]
    ]
    answer = f"{len(records):04d}" + "".join(records)
    if statistics == "1":
        t = hsm.host_traffic() if interface != SECOND_INTERFACE else None
        sent, received = (t.bytes_sent, t.bytes_received) if t else (0, 0)
        packets = (t.frames_sent, t.frames_received, 0, 0, 0, t.errors, 0, 0, 0) if t else (0,) * 9
        answer += _h(sent, 16) + _h(received, 16) + "".join(_h(n, 8) for n in packets)
    return answer.encode("ascii")
