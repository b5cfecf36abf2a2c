"""Securing an OPC UA session: the endpoint for the policy, the server certificate checked
against the trust list, the agent's certificate and the user identity.

A server certificate is never trusted on first use: the certificate the server offers must
be in ``trust_dir`` (DER or PEM files, any name), which is read on every new session so a
certificate copied there is used without a restart. An unknown one is an error that names
its SHA-1 thumbprint (what controllers show in their OPC UA settings) and how to trust it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asyncua import Client, ua
from asyncua.crypto import security_policies
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .config import OpcuaDevice

POLICIES: dict[str, Any] = {
    "Basic256Sha256": security_policies.SecurityPolicyBasic256Sha256,
    "Aes128_Sha256_RsaOaep": security_policies.SecurityPolicyAes128Sha256RsaOaep,
    "Aes256_Sha256_RsaPss": security_policies.SecurityPolicyAes256Sha256RsaPss,
}
MODES = {
    "None": ua.MessageSecurityMode.None_,
    "Sign": ua.MessageSecurityMode.Sign,
    "SignAndEncrypt": ua.MessageSecurityMode.SignAndEncrypt,
}
TRUST_SUFFIXES = (".der", ".pem", ".crt", ".cer")


class SecurityProblem(Exception):
    """The session cannot be secured as configured; the message says what to change."""


def thumbprint(der: bytes) -> str:
    """The SHA-1 thumbprint of a DER certificate, as controllers show it: ``AB:CD:...``."""
    return ":".join(f"{b:02X}" for b in hashlib.sha1(der).digest())  # a fingerprint, as the spec's


def load_certificate(path: Path, key: str) -> x509.Certificate:
    """A certificate file, PEM or DER, or SecurityProblem naming ``key`` and the file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SecurityProblem(f"cannot read {key} {str(path)!r}: {exc.strerror or exc}") from None
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise SecurityProblem(f"{key} {str(path)!r} is not a certificate (PEM or DER)") from None


def load_key(path: Path, key: str) -> rsa.RSAPrivateKey:
    """An unencrypted RSA private key file, PEM or DER, or SecurityProblem."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SecurityProblem(f"cannot read {key} {str(path)!r}: {exc.strerror or exc}") from None
    try:
        loaded = (
            serialization.load_pem_private_key(data, None)
            if b"-----BEGIN" in data
            else serialization.load_der_private_key(data, None)
        )
    except (ValueError, TypeError):
        raise SecurityProblem(f"{key} {str(path)!r} is not an unencrypted private key (PEM or DER)") from None
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise SecurityProblem(f"{key} {str(path)!r} is not an RSA key; OPC UA certificates use RSA")
    return loaded


def trusted(trust_dir: Path) -> dict[str, x509.Certificate]:
    """The certificates in ``trust_dir`` by thumbprint (files that are no certificate are skipped)."""
    found: dict[str, x509.Certificate] = {}
    try:
        files = sorted(trust_dir.iterdir())
    except OSError as exc:
        raise SecurityProblem(f"cannot read trust_dir {str(trust_dir)!r}: {exc.strerror or exc}") from None
    for file in files:
        if file.suffix.lower() not in TRUST_SUFFIXES or not file.is_file():
            continue
        try:
            cert = load_certificate(file, "trust_dir")
        except SecurityProblem:
            continue
        found[thumbprint(cert.public_bytes(serialization.Encoding.DER))] = cert
    return found


def server_certificate(endpoint: Any) -> bytes:
    """The server's own certificate from an endpoint (a chain is cut after the first)."""
    data: bytes = endpoint.ServerCertificate or b""
    if len(data) < 4:
        return data
    return data[: int.from_bytes(data[2:4], "big") + 4]


def check_trusted(der: bytes, config: OpcuaDevice) -> None:
    """SecurityProblem unless ``der`` is in the device's trust list and valid today."""
    assert config.trust_dir is not None
    print_ = thumbprint(der)
    cert = x509.load_der_x509_certificate(der)
    subject = cert.subject.rfc4514_string()
    if print_ not in trusted(config.trust_dir):
        raise SecurityProblem(
            f"the server certificate of {config.url} is not trusted: SHA-1 thumbprint {print_}, "
            f"subject {subject}. Compare the thumbprint with the one the machine's OPC UA settings "
            f"show; if they match, trust it by copying the certificate into {config.trust_dir} "
            f"(edge-agent scan opcua --url {config.url} --save-cert {config.trust_dir}/"
            f"{config.name}.der saves it), then reload"
        )
    now = datetime.now(UTC)
    if cert.not_valid_after_utc < now:
        raise SecurityProblem(
            f"the server certificate of {config.url} (thumbprint {print_}) expired on "
            f"{cert.not_valid_after_utc:%Y-%m-%d}; renew it on the machine and trust "
            "the new one"
        )
    if cert.not_valid_before_utc > now:
        raise SecurityProblem(
            f"the server certificate of {config.url} (thumbprint {print_}) is valid only "
            f"from {cert.not_valid_before_utc:%Y-%m-%d}; check the clocks"
        )


@dataclass(frozen=True)
class Offered:
    """What one endpoint of the server offers: policy and mode."""

    policy: str
    mode: str

    def __str__(self) -> str:
        return f"{self.policy}/{self.mode}"


def offered(endpoints: list[Any]) -> list[Offered]:
    """The policies and modes a server's endpoints offer, for messages."""
    out = []
    for endpoint in endpoints:
        policy = str(endpoint.SecurityPolicyUri).rpartition("#")[2]
        mode = {1: "None", 2: "Sign", 3: "SignAndEncrypt"}.get(int(endpoint.SecurityMode), "?")
        out.append(Offered(policy, mode))
    return list(dict.fromkeys(out))


async def secure(client: Client, config: OpcuaDevice, endpoints: list[Any]) -> None:
    """Set the client's channel security from the endpoint the server offers for the policy."""
    mode = MODES[config.effective_security_mode]
    policy = POLICIES[config.policy]
    match = [e for e in endpoints if e.SecurityPolicyUri == policy.URI and e.SecurityMode == mode]
    if not match:
        offers = ", ".join(str(o) for o in offered(endpoints)) or "nothing"
        raise SecurityProblem(
            f"{config.url} does not offer policy {config.policy} with security_mode "
            f"{config.effective_security_mode} (it offers: {offers}); set policy and "
            "security_mode to one it offers, or enable it on the machine"
        )
    der = server_certificate(match[0])
    check_trusted(der, config)
    assert config.cert_file is not None and config.key_file is not None
    cert = load_certificate(config.cert_file, "cert_file")
    key = load_key(config.key_file, "key_file")
    try:
        uris = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.UniformResourceIdentifier
        )
    except x509.ExtensionNotFound:
        uris = []
    if not uris:
        raise SecurityProblem(
            f"cert_file {str(config.cert_file)!r} has no application URI "
            "(subjectAltName URI); OPC UA servers refuse such a certificate"
        )
    # The session must present the URI its certificate carries, or servers refuse it.
    client.application_uri = uris[0]
    key_der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    await client.set_security(
        policy, cert.public_bytes(serialization.Encoding.DER), key_der, server_certificate=der, mode=mode
    )


def set_identity(client: Client, config: OpcuaDevice, password: str | None) -> None:
    """Anonymous, user and password, or a user certificate with its key."""
    if config.username is not None:
        client.set_user(config.username)
        client.set_password(password or "")
    elif config.user_cert_file is not None and config.user_key_file is not None:
        client.user_certificate = load_certificate(config.user_cert_file, "user_cert_file")
        client.user_private_key = load_key(config.user_key_file, "user_key_file")
