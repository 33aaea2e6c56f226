"""A client for hsmd (and any payShield-protocol server): blocking or trio, TCP, TLS or UDP.

Blocking::

    import hsmd.client

    with hsmd.client.connect("127.0.0.1", 1500, header="HEAD") as client:
        answer = client.call("NC")  # Answer(response_code="ND", error_code="00", fields=b"7D22...")
        echoed, refused = client.pipeline(["B20005hello", ("ZZ", "")])  # one write, answers in order

trio: ``async with await hsmd.client.open_trio(...) as client: await client.call("NC")``.
UDP: ``hsmd.client.connect_udp(...)``, one request and one answer per datagram.  TLS:
``tls=ssl.create_default_context(cafile=...)`` (plus ``load_cert_chain`` for mutual TLS).

Every answer is checked against its request (header, response code) and the errors are
:class:`ClientError` subclasses; an answer with a non-00 error code is an answer, not an error
(``answer.ok``, ``answer.meaning``).  ``hsmd call`` is this client on the command line.
"""

from hsmd.client.blocking import Client, UdpClient, connect, connect_udp
from hsmd.client.codec import DEFAULT_HEADER, DEFAULT_PORT, DEFAULT_TLS_PORT, Answer, ClientProtocol, Request
from hsmd.client.errors import (
    AnswerMismatch,
    ClientClosed,
    ClientError,
    ConnectFailed,
    ConnectionLost,
    MalformedAnswer,
    Timeout,
)
from hsmd.client.trio_client import TrioClient, open_trio

__all__ = [
    "DEFAULT_HEADER",
    "DEFAULT_PORT",
    "DEFAULT_TLS_PORT",
    "Answer",
    "AnswerMismatch",
    "Client",
    "ClientClosed",
    "ClientError",
    "ClientProtocol",
    "ConnectFailed",
    "ConnectionLost",
    "MalformedAnswer",
    "Request",
    "Timeout",
    "TrioClient",
    "UdpClient",
    "connect",
    "connect_udp",
    "open_trio",
]
