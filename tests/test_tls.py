"""The TLS host port: hsmd.tls (the server context from [tls]) and hsmd.server serving an
``SSLListener``, with certificates made here by trustme and real TLS clients on localhost.

The server side uses an echo dispatcher (the plugin-backed end-to-end test is in
test_app.py). Waiting for the server to record an outcome is bounded by ``fail_after``;
nothing asserts on durations.
"""

from __future__ import annotations

import os
import ssl
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import structlog
import trio
import trustme
from cryptography.hazmat.primitives import serialization
from structlog.testing import capture_logs
from structlog.typing import EventDict

from hsmd.config import TlsConfig
from hsmd.host.status import PortStatus
from hsmd.protocol import Frame, encode
from hsmd.server import Limits, Server
from hsmd.tls import TlsSetupError, server_context, tls_listener

TIMEOUT = 10.0
NC = encode(b"HEADNC")
NC_ANSWER = encode(b"HEADND00")


class Echo:
    """Answers every command with error 00 and its own body."""

    async def handle(self, frame: Frame) -> bytes:
        return frame.reply(b"00", frame.body)


@dataclass
class Pki:
    """A server certificate, a client CA with one client, and a client from another CA, as files."""

    server_ca: trustme.CA
    client: trustme.LeafCert
    stranger: trustme.LeafCert
    certificate: Path
    private_key: Path
    client_ca: Path

    def config(self, *, mutual: bool = False, **changes: object) -> TlsConfig:
        fields: dict[str, object] = {
            "enabled": True,
            "certificate": self.certificate,
            "private_key": self.private_key,
            "client_ca": self.client_ca if mutual else None,
        }
        fields.update(changes)
        return TlsConfig(**fields)  # type: ignore[arg-type]


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    server_ca, client_ca, other_ca = trustme.CA(), trustme.CA(), trustme.CA()
    server = server_ca.issue_cert("localhost", "127.0.0.1")
    pki = Pki(
        server_ca,
        client_ca.issue_cert("host-app-1", common_name="host-app-1"),
        other_ca.issue_cert("mallory", common_name="mallory"),
        tmp_path / "server.pem",
        tmp_path / "server.key",
        tmp_path / "client-ca.pem",
    )
    server.cert_chain_pems[0].write_to_path(str(pki.certificate))
    server.private_key_pem.write_to_path(str(pki.private_key))
    pki.private_key.chmod(0o600)
    client_ca.cert_pem.write_to_path(str(pki.client_ca))
    return pki


def client_context(pki: Pki, version: ssl.TLSVersion | None = None, cert: trustme.LeafCert | None = None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    pki.server_ca.configure_trust(context)
    if version is not None:
        context.minimum_version = context.maximum_version = version
    if version == ssl.TLSVersion.TLSv1_1:
        context.set_ciphers("DEFAULT:@SECLEVEL=0")  # OpenSSL 3 would not even offer TLS 1.1 otherwise
    if cert is not None:
        cert.configure_cert(context)
    return context


@dataclass
class TlsPort:
    server: Server
    status: PortStatus
    port: int

    async def connect(self, context: ssl.SSLContext) -> trio.SSLStream[trio.SocketStream]:
        stream = trio.SSLStream(await trio.open_tcp_stream("127.0.0.1", self.port), context, server_hostname="localhost")
        await stream.do_handshake()
        return stream

    async def wait_until(self, done: Callable[[PortStatus], bool]) -> None:
        with trio.fail_after(TIMEOUT):
            while not done(self.status):
                await trio.sleep(0.005)


@asynccontextmanager
async def tls_port(config: TlsConfig, limits: Limits | None = None) -> AsyncIterator[TlsPort]:
    """Serve the echo dispatcher on 127.0.0.1 over TLS; shut down and drain on exit."""
    status = PortStatus("tls", "127.0.0.1", 0)
    server = Server(Echo(), header_len=4, limits=limits or Limits(), port_status=status)
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    status.port = listeners[0].socket.getsockname()[1]
    context = server_context(config)
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            await nursery.start(server.serve_listeners, [tls_listener(listener, context) for listener in listeners])
            yield TlsPort(server, status, status.port)
            server.shutdown()


async def exchange(stream: trio.abc.Stream, request: bytes) -> bytes:
    await stream.send_all(request)
    [answer] = await read_answers(stream, 1)
    return answer


async def read_answers(stream: trio.abc.Stream, count: int) -> list[bytes]:
    """Exactly ``count`` length-prefixed answers, each with its prefix, and nothing more."""
    data = b""
    answers: list[bytes] = []
    while len(answers) < count:
        if len(data) >= 2 and len(data) >= 2 + int.from_bytes(data[:2], "big"):
            end = 2 + int.from_bytes(data[:2], "big")
            answers.append(data[:end])
            data = data[end:]
            continue
        chunk = await stream.receive_some()
        assert chunk, f"closed after {len(answers)} answers"
        data += chunk
    assert data == b""
    return answers


@pytest.fixture
def logs() -> Iterator[list[EventDict]]:
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as captured:
        yield captured


def failures(logs: list[EventDict]) -> list[str]:
    return [entry["reason"] for entry in logs if entry["event"] == "tls handshake failed"]


def close_reasons(logs: list[EventDict]) -> list[str]:
    return [entry["reason"] for entry in logs if entry["event"] == "connection closed"]


# --- the server context --------------------------------------------------------------------


def test_the_context_allows_tls_1_2_and_up_and_asks_no_client_certificate_by_default(pki: Pki) -> None:
    context = server_context(pki.config())
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_NONE


def test_a_client_ca_makes_the_client_certificate_required(pki: Pki) -> None:
    assert server_context(pki.config(mutual=True)).verify_mode == ssl.CERT_REQUIRED


def setup_error(config: TlsConfig) -> str:
    with pytest.raises(TlsSetupError) as info:
        server_context(config)
    return str(info.value)


def test_a_missing_certificate_setting_is_one_line(pki: Pki) -> None:
    assert setup_error(pki.config(certificate=None)) == "tls.certificate: required when tls.enabled = true"
    assert setup_error(pki.config(private_key=None)) == "tls.private_key: required when tls.enabled = true"


def test_a_missing_file_names_the_key_and_the_file(pki: Pki, tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    assert setup_error(pki.config(certificate=missing)) == f"tls.certificate: cannot read {missing}: No such file or directory"
    assert setup_error(pki.config(private_key=missing)) == f"tls.private_key: cannot read {missing}: No such file or directory"
    assert setup_error(pki.config(mutual=True, client_ca=missing)) == f"tls.client_ca: cannot read {missing}: No such file or directory"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_key_file_names_the_key(pki: Pki) -> None:
    pki.private_key.chmod(0o000)
    assert setup_error(pki.config()) == f"tls.private_key: cannot read {pki.private_key}: Permission denied"


def test_a_directory_is_not_a_certificate(pki: Pki, tmp_path: Path) -> None:
    assert setup_error(pki.config(certificate=tmp_path)) == f"tls.certificate: {tmp_path} is not a regular file"


def test_a_file_without_pem_blocks_is_refused(pki: Pki, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    text.chmod(0o600)
    assert setup_error(pki.config(certificate=text)) == f"tls.certificate: {text} holds no PEM certificate"
    assert setup_error(pki.config(private_key=text)) == f"tls.private_key: {text} holds no PEM private key"
    assert (
        setup_error(pki.config(mutual=True, client_ca=pki.private_key)) == f"tls.client_ca: {pki.private_key} holds no PEM CA certificate"
    )


def test_a_corrupt_certificate_or_key_is_told_apart(pki: Pki, tmp_path: Path) -> None:
    bad_cert = tmp_path / "bad-cert.pem"
    bad_cert.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    bad_key = tmp_path / "bad-key.pem"
    bad_key.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    bad_key.chmod(0o600)
    assert setup_error(pki.config(certificate=bad_cert)) == f"tls.certificate: {bad_cert}: not a valid PEM certificate"
    assert setup_error(pki.config(private_key=bad_key)) == f"tls.private_key: {bad_key}: not a valid PEM private key"
    assert setup_error(pki.config(mutual=True, client_ca=bad_cert)) == f"tls.client_ca: {bad_cert}: not a valid PEM certificate"


def test_a_key_that_does_not_match_the_certificate_is_refused(pki: Pki, tmp_path: Path) -> None:
    other_key = tmp_path / "other.key"
    pki.stranger.private_key_pem.write_to_path(str(other_key))
    other_key.chmod(0o600)
    assert (
        setup_error(pki.config(private_key=other_key)) == f"tls.private_key: {other_key} does not match tls.certificate {pki.certificate}"
    )


def test_an_encrypted_key_is_refused_without_prompting(pki: Pki, tmp_path: Path) -> None:
    key = serialization.load_pem_private_key(pki.private_key.read_bytes(), password=None)
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"secret"))
    )
    encrypted.chmod(0o600)
    assert setup_error(pki.config(private_key=encrypted)) == f"tls.private_key: {encrypted} is encrypted; give hsmd an unencrypted key file"


def test_a_key_file_other_users_can_read_is_refused(pki: Pki) -> None:
    pki.private_key.chmod(0o644)
    assert setup_error(pki.config()) == (
        f"tls.private_key: {pki.private_key} is accessible to other users (mode -rw-r--r--); chmod o-rwx it"
    )


# --- serving ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "name"), [(ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")])
async def test_tls_1_2_and_1_3_clients_are_served_like_tcp(pki: Pki, logs: list[EventDict], version: ssl.TLSVersion, name: str) -> None:
    async with tls_port(pki.config()) as port:
        stream = await port.connect(client_context(pki, version))
        assert stream.version() == name
        # Same framing as TCP: pipelined frames, answers in order, trailer echoed.
        await stream.send_all(NC + encode(b"HEADB2hi\x19tr"))
        assert await read_answers(stream, 2) == [NC_ANSWER, encode(b"HEADB300hi\x19tr")]
        assert port.status.connections == 1
        await stream.aclose()
        await port.wait_until(lambda s: s.connections == 0)
    assert (port.status.accepted, port.status.handshake_failures) == (1, 0)
    [established] = [entry for entry in logs if entry["event"] == "tls established"]
    assert established["tls_version"] == name
    assert established["client_subject"] is None
    assert failures(logs) == []


async def test_a_client_closing_without_close_notify_is_a_plain_peer_close(pki: Pki, logs: list[EventDict]) -> None:
    """Frames delimit themselves: a TLS close without close_notify is "peer closed", not an error."""
    async with tls_port(pki.config()) as port:
        stream = await port.connect(client_context(pki))
        assert await exchange(stream, NC) == NC_ANSWER
        await stream.transport_stream.aclose()  # TCP close, no TLS close_notify
        await port.wait_until(lambda s: s.connections == 0)
    assert close_reasons(logs) == ["peer closed"]


async def test_a_client_cutting_a_frame_short_is_seen_as_such(pki: Pki, logs: list[EventDict]) -> None:
    async with tls_port(pki.config()) as port:
        stream = await port.connect(client_context(pki))
        await stream.send_all(NC[:-2])
        await stream.transport_stream.aclose()
        await port.wait_until(lambda s: s.connections == 0)
    assert close_reasons(logs) == ["peer closed mid-frame"]


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
async def test_a_tls_1_1_client_is_refused_logged_and_counted(pki: Pki, logs: list[EventDict]) -> None:
    async with tls_port(pki.config()) as port:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context = client_context(pki, ssl.TLSVersion.TLSv1_1)
        with pytest.raises(trio.BrokenResourceError):
            await port.connect(context)
        await port.wait_until(lambda s: s.connections == 0)
    assert (port.status.accepted, port.status.handshake_failures) == (1, 1)
    assert failures(logs) == ["UNSUPPORTED_PROTOCOL"]
    assert close_reasons(logs) == ["handshake failed"]


async def test_a_plain_tcp_client_on_the_tls_port_is_refused_and_counted(pki: Pki, logs: list[EventDict]) -> None:
    async with tls_port(pki.config()) as port:
        stream = await trio.open_tcp_stream("127.0.0.1", port.port)
        await stream.send_all(NC)
        assert await stream.receive_some() == b""  # closed, no answer
        await port.wait_until(lambda s: s.connections == 0)
    assert port.status.handshake_failures == 1
    assert failures(logs) == ["WRONG_VERSION_NUMBER"]


async def test_mutual_tls_serves_a_client_with_a_certificate_from_the_ca(pki: Pki, logs: list[EventDict]) -> None:
    async with tls_port(pki.config(mutual=True)) as port:
        stream = await port.connect(client_context(pki, cert=pki.client))
        assert await exchange(stream, NC) == NC_ANSWER
        await stream.aclose()
    [established] = [entry for entry in logs if entry["event"] == "tls established"]
    assert established["client_subject"].endswith("commonName=host-app-1")
    assert port.status.handshake_failures == 0


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
async def test_mutual_tls_refuses_a_client_without_a_certificate(pki: Pki, logs: list[EventDict], version: ssl.TLSVersion) -> None:
    async with tls_port(pki.config(mutual=True)) as port:
        # TLS 1.3 finishes the client's side of the handshake before the server checks: the
        # refusal then shows on the first read.  Either way no answer ever arrives.
        with pytest.raises(trio.BrokenResourceError):
            stream = await port.connect(client_context(pki, version))
            await exchange(stream, NC)
        await port.wait_until(lambda s: s.connections == 0)
    assert port.status.handshake_failures == 1
    assert failures(logs) == ["PEER_DID_NOT_RETURN_A_CERTIFICATE"]


async def test_mutual_tls_refuses_a_certificate_from_another_ca(pki: Pki, logs: list[EventDict]) -> None:
    async with tls_port(pki.config(mutual=True)) as port:
        with pytest.raises(trio.BrokenResourceError):
            stream = await port.connect(client_context(pki, cert=pki.stranger))
            await exchange(stream, NC)
        await port.wait_until(lambda s: s.connections == 0)
    assert port.status.handshake_failures == 1
    assert failures(logs) == ["CERTIFICATE_VERIFY_FAILED"]


async def test_a_client_that_never_handshakes_does_not_hold_up_another(pki: Pki, logs: list[EventDict]) -> None:
    """The handshake runs in the connection's task: accept goes on, the next client is served."""
    async with tls_port(pki.config(), Limits(handshake_timeout=3600)) as port:
        silent = await trio.open_tcp_stream("127.0.0.1", port.port)
        await port.wait_until(lambda s: s.accepted == 1)
        stream = await port.connect(client_context(pki))
        assert await exchange(stream, NC) == NC_ANSWER
        assert (port.status.accepted, port.status.connections, port.status.handshake_failures) == (2, 2, 0)
        await stream.aclose()
        await silent.aclose()


async def test_a_handshake_that_never_completes_times_out_and_is_counted(pki: Pki, logs: list[EventDict]) -> None:
    async with tls_port(pki.config(), Limits(handshake_timeout=0.05)) as port:
        silent = await trio.open_tcp_stream("127.0.0.1", port.port)
        await silent.send_all(b"\x16\x03\x01")  # the first bytes of a ClientHello, then nothing
        assert await silent.receive_some() == b""
        await port.wait_until(lambda s: s.connections == 0)
    assert port.status.handshake_failures == 1
    assert failures(logs) == ["handshake timeout"]
    assert close_reasons(logs) == ["handshake failed"]


async def test_shutdown_abandons_a_pending_handshake_without_counting_it(pki: Pki, logs: list[EventDict]) -> None:
    async with tls_port(pki.config(), Limits(handshake_timeout=3600)) as port:
        silent = await trio.open_tcp_stream("127.0.0.1", port.port)
        await port.wait_until(lambda s: s.accepted == 1)
        port.server.shutdown()
        assert await silent.receive_some() == b""
    assert port.status.handshake_failures == 0
    assert close_reasons(logs) == ["shutdown"]
