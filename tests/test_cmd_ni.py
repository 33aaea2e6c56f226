"""NI — Return network information.

No published NJ exchange exists (research: client decoders only), so answers
are checked field by field against the layout mszeu/PayShieldPressureTest's
decode_ni reads (tested against a payShield 10K) and Shulyaka/iso8583tools'
fields_thales.frm, and against the ports and traffic the test gives the host.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.host.status import OpenConnection, PortStatus
from hsmd.runtime import Runtime
from logic import ni
from tests.commands import in_component, native
from tests.status_host import status_host
from tests.tcp import exchange


def ni_host() -> Host:
    """A TCP port 1500 with two clients, a TLS port 2500 with one IPv6 client, a UDP port; known traffic."""
    host = status_host()
    now = time.monotonic()
    tcp = PortStatus("tcp", "0.0.0.0", 1500, connections=2, bytes_sent=0x1234, bytes_received=0xABCDEF, frames_sent=7, frames_received=9)
    tcp.open = {"1": OpenConnection("10.1.2.3", 40000, now - 65), "2": OpenConnection("::ffff:192.168.0.1", 1501, now)}
    tls = PortStatus("tls", "0.0.0.0", 2500, connections=1, handshake_failures=2, bytes_sent=1, frames_sent=1, frames_received=1)
    tls.open = {"3": OpenConnection("2001:db8::1", 50000, now - 5)}
    udp = PortStatus("udp", "0.0.0.0", 1500, datagrams=4, malformed=3, bytes_received=100, frames_received=1)
    host.status.ports = [tcp, tls, udp]
    return host


def test_records_list_every_tcp_and_tls_connection() -> None:
    answer = native(ni, ni_host(), b"10")
    assert answer == (
        b"00"
        + b"0003"
        + b"0" + b"05DC" + b"0A010203" + b"9C40" + b"0" + b"00000065"
        + b"0" + b"05DC" + b"C0A80001" + b"05DD" + b"0" + b"00000000"
        + b"0" + b"09C4" + b"00000000" + b"C350" + b"0" + b"00000005"
    )  # fmt: skip


def test_statistics_add_the_traffic_totals() -> None:
    answer = native(ni, ni_host(), b"11")
    totals = answer[2 + 4 + 3 * 26 :]
    assert totals == (
        b"0000000000001235"  # bytes sent: 0x1234 + 1
        + b"0000000000ABCE53"  # bytes received: 0xABCDEF + 100
        + b"00000008" + b"0000000B"  # frames sent, received
        + b"00000000" * 2  # non-unicast
        + b"00000000" + b"00000005"  # discarded on send, on receive (3 malformed datagrams, 2 failed handshakes)
        + b"00000000" * 3  # errors on send, on receive, unknown
    )  # fmt: skip
    assert len(answer) == 2 + 4 + 3 * 26 + 2 * 16 + 9 * 8


def test_interface_x_is_the_host_ports_and_2_has_no_connections() -> None:
    assert native(ni, ni_host(), b"X0") == native(ni, ni_host(), b"10")
    assert native(ni, ni_host(), b"20") == b"00" + b"0000"
    assert native(ni, ni_host(), b"21") == b"00" + b"0000" + b"0" * (2 * 16 + 9 * 8)


@pytest.mark.parametrize(("request_", "code"), [(b"31", "15"), (b"", "15"), (b"1", "15"), (b"111", "15"), (b"12", "82"), (b"1A", "82")])
def test_bad_requests_get_their_code(request_: bytes, code: str) -> None:
    assert native(ni, ni_host(), request_) == code.encode()


def test_counters_wrap_at_their_width() -> None:
    host = ni_host()
    host.status.ports[0].frames_sent = 2**32 + 1
    totals = native(ni, host, b"11")[2 + 4 + 3 * 26 :]
    assert totals[32:40] == b"00000002"  # (2**32 + 1 + 1) mod 2**32


@pytest.mark.wasm
def test_component_answers_as_the_logic_does(runtime: Runtime, built_plugins: Path, host: Host) -> None:
    plugin = runtime.load(built_plugins / "NI.wasm")
    for request_ in [b"10", b"11", b"X1", b"21", b"31", b"12", b""]:
        assert in_component(runtime, plugin, request_) == native(ni, host, request_), request_


@pytest.mark.wasm
async def test_a_client_sees_its_own_connection_and_traffic(built_plugins: Path) -> None:
    answers = await exchange(built_plugins, b"NC", b"NI11")
    answer = answers[1]
    assert answer[:4] == b"NJ00" and answer[4:8] == b"0001"
    record = answer[8:34]
    assert record[:1] == b"0" and record[5:13] == b"7F000001" and record[17:18] == b"0"
    totals = answer[34:]
    assert len(totals) == 2 * 16 + 9 * 8
    assert int(totals[16:32], 16) > 0 and int(totals[40:48], 16) == 2  # bytes received; both frames received
