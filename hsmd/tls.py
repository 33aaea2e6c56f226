"""The TLS host port's server context, built once at start-up from ``[tls]``.

TLS 1.2 and 1.3 only (OpenSSL's default ciphers for them). With ``client_ca`` set, every
client must present a certificate that chains to one of those CAs (mutual TLS); the system
trust store is never used for that. Every way the files can be wrong (missing, unreadable,
not PEM, encrypted key, key not matching the certificate, a private key readable by other
users) raises `TlsSetupError` with one line naming the key and the file, so start-up stops
with that line rather than a traceback. Nothing here logs or returns key material.
"""

from __future__ import annotations

import os
import ssl
import stat
from pathlib import Path
from typing import NoReturn

import trio

from hsmd.config import TlsConfig

__all__ = ["TlsSetupError", "server_context", "tls_listener"]


class TlsSetupError(Exception):
    """The [tls] files cannot make a server context; ``str()`` is one line for the operator."""


class _EncryptedKey(Exception):
    pass


def _no_passphrase() -> NoReturn:
    # Called by OpenSSL only for an encrypted key; without it, OpenSSL would prompt on the terminal.
    raise _EncryptedKey


def _check_pem(key: str, path: Path, marker: bytes, what: str) -> int:
    """The file's mode, once it is a readable regular file holding a PEM ``marker`` block."""
    try:
        mode = path.stat().st_mode  # follows symlinks: certbot's live/ files are links
        if not stat.S_ISREG(mode):
            raise TlsSetupError(f"tls.{key}: {path} is not a regular file")
        data = path.read_bytes()
    except OSError as exc:
        raise TlsSetupError(f"tls.{key}: cannot read {path}: {exc.strerror or exc}") from None
    if marker not in data:
        raise TlsSetupError(f"tls.{key}: {path} holds no PEM {what}")
    return mode


def _detail(exc: ssl.SSLError) -> str:
    return f" ({exc.reason})" if exc.reason else ""


def _check_certificates(key: str, path: Path) -> None:
    """Parse the PEM certificates alone, so a bad one is told apart from a bad key."""
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=os.fspath(path))
    except ssl.SSLError as exc:
        raise TlsSetupError(f"tls.{key}: {path}: not a valid PEM certificate{_detail(exc)}") from None


def server_context(config: TlsConfig) -> ssl.SSLContext:
    """The server context for ``config`` (which must have ``enabled`` set)."""
    if config.certificate is None or config.private_key is None:
        missing = "tls.certificate" if config.certificate is None else "tls.private_key"
        raise TlsSetupError(f"{missing}: required when tls.enabled = true")
    _check_pem("certificate", config.certificate, b"-----BEGIN CERTIFICATE-----", "certificate")
    _check_certificates("certificate", config.certificate)
    mode = _check_pem("private_key", config.private_key, b"PRIVATE KEY-----", "private key")
    if mode & stat.S_IRWXO:
        raise TlsSetupError(
            f"tls.private_key: {config.private_key} is accessible to other users (mode {stat.filemode(mode)}); chmod o-rwx it"
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_RENEGOTIATION
    try:
        context.load_cert_chain(os.fspath(config.certificate), os.fspath(config.private_key), password=_no_passphrase)
    except _EncryptedKey:
        raise TlsSetupError(f"tls.private_key: {config.private_key} is encrypted; give hsmd an unencrypted key file") from None
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            raise TlsSetupError(f"tls.private_key: {config.private_key} does not match tls.certificate {config.certificate}") from None
        raise TlsSetupError(f"tls.private_key: {config.private_key}: not a valid PEM private key{_detail(exc)}") from None
    if config.client_ca is not None:
        _check_pem("client_ca", config.client_ca, b"-----BEGIN CERTIFICATE-----", "CA certificate")
        _check_certificates("client_ca", config.client_ca)
        context.load_verify_locations(cafile=os.fspath(config.client_ca))
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def tls_listener(listener: trio.SocketListener, context: ssl.SSLContext) -> trio.SSLListener[trio.SocketStream]:
    """``listener`` with TLS on top, as the TLS host port serves it.

    SSLListener only wraps: the handshake happens in the connection's own task (see
    hsmd.server).  https_compatible: a close without close_notify is a plain EOF (many
    payShield clients never send one); frames delimit themselves, so a cut-off request is
    still seen as "peer closed mid-frame".
    """
    return trio.SSLListener(listener, context, https_compatible=True)
