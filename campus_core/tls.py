"""TLS for uplinks: verify the server by default, pin a CA, present a client certificate.

Every sink and broker connection that speaks TLS (the InfluxDB sink, MQTT devices and
the MQTT sink) takes the same keys (``tls_ca``, ``tls_cert``, ``tls_key``,
``insecure_skip_verify``) through :class:`TlsOptions`, and gets its context from
:func:`client_context`, so there is one place where verification is set and one wording
for a file that cannot be used.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from pydantic import BaseModel, model_validator

from campus_core.files import SecretFile


class TlsFileError(ValueError):
    """A ``tls_ca``, ``tls_cert`` or ``tls_key`` file that TLS cannot use; the message names it."""


class TlsOptions(BaseModel):
    """The ``tls_*`` keys of a sink or broker entry.

    The files are tried when the config loads, so ``edge-agent check`` names a CA file that
    is not PEM or a key that does not match its certificate; a file that goes bad later is
    named when the connection is next made.
    """

    tls_ca: SecretFile | None = None
    tls_cert: SecretFile | None = None
    tls_key: SecretFile | None = None
    insecure_skip_verify: bool = False

    @model_validator(mode="after")
    def _usable(self) -> TlsOptions:
        keys = [key for key in ("tls_ca", "tls_cert", "tls_key") if getattr(self, key) is not None]
        if not keys:
            return self
        if (wanted := self.without_tls()) is not None:
            raise ValueError(f"{', '.join(keys)} {'need' if len(keys) > 1 else 'needs'} {wanted}")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together (a client certificate and its key)")
        self.client_context()
        return self

    def without_tls(self) -> str | None:
        """What the ``tls_*`` keys need when this entry's URL speaks no TLS, else None.

        Entries with a URL say so ("an https:// URL (TLS); the store is http://..."), so a
        CA file set beside a plain-text URL is an error rather than silently unused.
        """
        return None

    def client_context(self) -> ssl.SSLContext:
        """A client context: system CAs (or ``tls_ca`` alone), host name checked, TLS 1.2+."""
        return client_context(self.tls_ca, self.tls_cert, self.tls_key, self.insecure_skip_verify)


def client_context(
    ca: Path | None, cert: Path | None, key: Path | None, insecure: bool = False
) -> ssl.SSLContext:
    """Build the context; a pinned ``ca`` replaces the system CAs rather than adding to them.

    Reads the files (call it off the event loop); raises :class:`TlsFileError` for one that
    cannot be used.
    """
    try:
        context = ssl.create_default_context(cafile=str(ca) if ca else None)
    except (ssl.SSLError, OSError) as exc:
        raise TlsFileError(f"tls_ca {str(ca)!r} is not a PEM CA certificate: {exc}") from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert is not None and key is not None:
        try:
            # An empty password: an encrypted key fails here instead of prompting on a terminal.
            context.load_cert_chain(str(cert), str(key), password="")
        except (ssl.SSLError, OSError) as exc:
            raise TlsFileError(
                f"cannot use tls_cert/tls_key {str(cert)!r}: {exc} (PEM files, an "
                "unencrypted key that matches the certificate)"
            ) from None
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def explain(error: BaseException) -> str | None:
    """A technician's reading of a TLS failure, or None if ``error`` is not one."""
    cause = _ssl_cause(error)
    if cause is None:
        return None
    if isinstance(cause, ssl.SSLCertVerificationError):
        text = str(cause.verify_message or cause).lower()
        if "hostname" in text or "ip address mismatch" in text:
            return (
                f"the server's certificate is not for this host name ({cause.verify_message}); "
                "check the URL against the certificate"
            )
        if "expired" in text:
            return "the server's certificate has expired"
        if "not yet valid" in text:
            return "the server's certificate is not valid yet (check the gateway's clock)"
        if "issuer" in text or "self-signed" in text or "self signed" in text:
            return (
                "the server's certificate is signed by an unknown CA; set tls_ca to the file "
                f"of the CA that signed it ({cause.verify_message})"
            )
        return f"the server's certificate was refused: {cause.verify_message}"
    return (
        f"TLS handshake failed ({cause.reason or cause}); check tls_ca, tls_cert and tls_key, "
        "and that the server speaks TLS on this port"
    )


def _ssl_cause(error: BaseException) -> ssl.SSLError | None:
    """The ``ssl`` module's own exception behind a client library's wrapper, if any."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        cause = pending.pop(0)
        if cause is None or id(cause) in seen:
            continue
        seen.add(id(cause))
        if isinstance(cause, ssl.SSLError) and type(cause).__module__ == "ssl":
            return cause
        # Client libraries keep the original as a cause, or (aiohttp's way) as
        # certificate_error / os_error.
        pending += [
            getattr(cause, "certificate_error", None),
            getattr(cause, "os_error", None),
            cause.__cause__,
            cause.__context__,
        ]
    return None
