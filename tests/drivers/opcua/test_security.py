"""Every security mode against a simulated machine: policies, identities, trust, and what is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from asyncua import ua

from campus_core.readings import DeviceError
from drivers.opcua import OpcuaDriver
from drivers.opcua.security import thumbprint
from simulators.opcua import OpcuaMachine

from . import certs
from .machines import cnc, port

SERVER_URI = "urn:campus-edge-agent:simulators:cnc-1"
P = ua.SecurityPolicyType


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("pki")
    server = certs.make(root / "server", "cnc-1", SERVER_URI)
    agent = certs.make(root / "agent", "edge-agent", "urn:campus-edge-agent:sh-031", pem=True)
    user = certs.make(root / "users", "teacher", "urn:campus-edge-agent:user:teacher")
    stranger = certs.make(root / "users", "stranger", "urn:campus-edge-agent:user:stranger")
    expired = certs.make(root / "expired", "cnc-old", SERVER_URI, days=-1)
    trust = root / "trust"
    trust.mkdir()
    (trust / "cnc-1.der").write_bytes(server.der)
    (trust / "README.txt").write_text("not a certificate: skipped\n")
    empty = root / "empty-trust"
    empty.mkdir()
    expired_trust = root / "expired-trust"
    expired_trust.mkdir()
    (expired_trust / "old.der").write_bytes(expired.der)
    password = root / "password"
    password.write_text("s3cret-Pass\n")
    wrong = root / "wrong-password"
    wrong.write_text("guess\n")
    return {
        "server": server,
        "agent": agent,
        "user": user,
        "stranger": stranger,
        "expired": expired,
        "trust": trust,
        "empty": empty,
        "expired_trust": expired_trust,
        "password": password,
        "wrong": wrong,
    }


def machine(
    pki: dict[str, Any], *policies: ua.SecurityPolicyType, cert: certs.Pair | None = None, **options: Any
) -> OpcuaMachine:
    pair = cert or pki["server"]
    return OpcuaMachine(
        "cnc-1",
        "cnc",
        port(),
        policies=policies or (P.NoSecurity,),
        certificate=pair.cert,
        private_key=pair.key,
        **options,
    )


def secured(pki: dict[str, Any], url: str, policy: str, mode: str, **entry: Any) -> Any:
    keys = {
        "policy": policy,
        "security_mode": mode,
        "cert_file": pki["agent"].cert,
        "key_file": pki["agent"].key,
        "trust_dir": pki["trust"],
        **entry,
    }
    return cnc("cnc-1", url, **keys)


async def failure(config: Any) -> str:
    driver = OpcuaDriver(config)
    async with driver:
        with pytest.raises(DeviceError) as caught:
            await driver.poll()
    assert caught.value.device == "cnc-1"
    return caught.value.reason


@pytest.mark.parametrize(
    ("policy", "mode", "served"),
    [
        ("Basic256Sha256", "Sign", P.Basic256Sha256_Sign),
        ("Basic256Sha256", "SignAndEncrypt", P.Basic256Sha256_SignAndEncrypt),
        ("Aes128_Sha256_RsaOaep", "Sign", P.Aes128Sha256RsaOaep_Sign),
        ("Aes128_Sha256_RsaOaep", "SignAndEncrypt", P.Aes128Sha256RsaOaep_SignAndEncrypt),
        ("Aes256_Sha256_RsaPss", "Sign", P.Aes256Sha256RsaPss_Sign),
        ("Aes256_Sha256_RsaPss", "SignAndEncrypt", P.Aes256Sha256RsaPss_SignAndEncrypt),
    ],
)
async def test_each_policy_and_mode_reads_the_machine(
    pki: dict[str, Any], policy: str, mode: str, served: ua.SecurityPolicyType
) -> None:
    async with machine(pki, served) as server:
        driver = OpcuaDriver(secured(pki, server.url, policy, mode))
        async with driver:
            (reading,) = await driver.poll()
        assert len(reading.fields) == 8


async def test_an_unknown_server_certificate_is_refused_naming_its_thumbprint(pki: dict[str, Any]) -> None:
    async with machine(pki, P.Basic256Sha256_SignAndEncrypt) as server:
        reason = await failure(
            secured(pki, server.url, "Basic256Sha256", "SignAndEncrypt", trust_dir=pki["empty"])
        )
    assert f"SHA-1 thumbprint {thumbprint(pki['server'].der)}" in reason
    assert "not trusted" in reason and str(pki["empty"]) in reason and "--save-cert" in reason


async def test_an_expired_server_certificate_is_refused(pki: dict[str, Any]) -> None:
    async with machine(pki, P.Basic256Sha256_SignAndEncrypt, cert=pki["expired"]) as server:
        reason = await failure(
            secured(pki, server.url, "Basic256Sha256", "SignAndEncrypt", trust_dir=pki["expired_trust"])
        )
    assert "expired" in reason


async def test_a_policy_the_server_does_not_offer_names_what_it_offers(pki: dict[str, Any]) -> None:
    async with machine(pki, P.Basic256Sha256_SignAndEncrypt) as server:
        reason = await failure(secured(pki, server.url, "Aes256_Sha256_RsaPss", "Sign"))
    assert "does not offer policy Aes256_Sha256_RsaPss with security_mode Sign" in reason
    assert "Basic256Sha256/SignAndEncrypt" in reason


async def test_no_security_against_a_secured_only_server_names_what_it_offers(pki: dict[str, Any]) -> None:
    async with machine(pki, P.Basic256Sha256_SignAndEncrypt) as server:
        reason = await failure(cnc("cnc-1", server.url))
    assert "policy None" in reason and "Basic256Sha256/SignAndEncrypt" in reason


async def test_a_server_that_does_not_trust_the_agent_says_which_certificate(pki: dict[str, Any]) -> None:
    async with machine(pki, P.Basic256Sha256_SignAndEncrypt, trusted_clients=[]) as server:
        reason = await failure(secured(pki, server.url, "Basic256Sha256", "SignAndEncrypt"))
    assert "does not accept the agent's certificate" in reason
    assert thumbprint(pki["agent"].der) in reason


async def test_user_and_password_from_a_file(pki: dict[str, Any]) -> None:
    async with machine(pki, P.Basic256Sha256_SignAndEncrypt, users={"teacher": "s3cret-Pass"}) as server:
        config = secured(
            pki,
            server.url,
            "Basic256Sha256",
            "SignAndEncrypt",
            username="teacher",
            password_file=pki["password"],
        )
        driver = OpcuaDriver(config)
        async with driver:
            (reading,) = await driver.poll()
        assert len(reading.fields) == 8
        wrong = config.model_copy(update={"password_file": pki["wrong"]})
        reason = await failure(wrong)
        assert "rejected user 'teacher'" in reason and "password_file" in reason
        assert "guess" not in reason
        anonymous = config.model_copy(update={"username": None, "password_file": None})
        assert "refuses anonymous sessions" in await failure(anonymous)


async def test_a_user_certificate_identity(pki: dict[str, Any]) -> None:
    async with machine(pki, P.Basic256Sha256_SignAndEncrypt, user_certificates=[pki["user"].der]) as server:
        config = secured(
            pki,
            server.url,
            "Basic256Sha256",
            "SignAndEncrypt",
            user_cert_file=pki["user"].cert,
            user_key_file=pki["user"].key,
        )
        driver = OpcuaDriver(config)
        async with driver:
            (reading,) = await driver.poll()
        assert len(reading.fields) == 8
        stranger = config.model_copy(
            update={"user_cert_file": pki["stranger"].cert, "user_key_file": pki["stranger"].key}
        )
        reason = await failure(stranger)
        assert "rejected the user certificate" in reason and "stranger" in reason


def test_trust_dir_must_be_a_folder(pki: dict[str, Any], tmp_path: Path) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="does not exist"):
        secured(pki, "opc.tcp://127.0.0.1:4840", "Basic256Sha256", "Sign", trust_dir=tmp_path / "nope")


async def test_user_and_password_without_a_policy(pki: dict[str, Any]) -> None:
    async with machine(pki, P.NoSecurity, users={"teacher": "s3cret-Pass"}) as server:
        config = cnc("cnc-1", server.url, username="teacher", password_file=pki["password"])
        driver = OpcuaDriver(config)
        async with driver:
            (reading,) = await driver.poll()
        assert len(reading.fields) == 8
        assert "s3cret" not in config.describe() and "s3cret" not in repr(config)
        reason = await failure(config.model_copy(update={"password_file": pki["wrong"]}))
        assert "rejected user 'teacher'" in reason
