"""The ``[[devices.snmp]]`` config model: what a technician writes for one SNMP device.

Every OID is resolved against the shipped MIBs when the config is loaded, so a typo in
``IF-MIB::ifHCInOctects`` is an error of ``edge-agent check``, not of a poll at 3 a.m.
Secrets (community, v3 keys) are never shown: ``describe()`` says only where they come from.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from campus_core.devices import Driver
from campus_core.files import SecretFile
from campus_core.identity import IdentityKeys
from campus_core.names import Name, SnakeCase
from campus_core.plugins import Factory
from campus_core.reporting import DeviceReporting, FieldReporting, FieldSettings, refuse_deadband
from campus_core.units import Duration

from .convert import COUNTER_SYNTAXES, Conversion, choose
from .mibs import MibError, Resolved, mibs
from .profiles import merge_profiles

Version = Literal["1", "2c", "3"]
AuthProtocol = Literal["md5", "sha", "sha224", "sha256", "sha384", "sha512"]
#: aes192/aes256 extend the key as net-snmp does (Blumenthal draft); the "c" forms as Cisco does.
PrivProtocol = Literal["des", "aes128", "aes192", "aes256", "aes192c", "aes256c"]

TEXT_CONVERSIONS = ("text", "mac", "hex", "date")


class _Value(FieldReporting):
    """What every value to read has: a name, an OID, and how to turn it into the schema."""

    model_config = ConfigDict(extra="forbid")

    name: SnakeCase = Field(description="field or tag name, snake_case with its unit")
    oid: str = Field(description="IF-MIB::ifHCInOctets, sysUpTime.0 or 1.3.6.1.2.1.1.3.0")
    tag: bool = False
    rate: bool = False
    scale: float = 1.0
    convert: Conversion = "auto"
    _resolved: Resolved = PrivateAttr()
    _conversion: Conversion = PrivateAttr(default="auto")

    @property
    def resolved(self) -> Resolved:
        """The OID, resolved against the shipped MIBs."""
        return self._resolved

    @property
    def conversion(self) -> Conversion:
        """How the value is converted, decided from the MIB syntax and ``convert``."""
        return self._conversion

    def _resolve(self, text: str) -> Resolved:
        try:
            return mibs().resolve(text)
        except MibError as exc:
            raise ValueError(str(exc)) from None

    def _check_value(self) -> None:
        resolved = self._resolved
        # The object the value is an instance of; a number under a branch has no known syntax.
        obj = resolved.obj if resolved.obj is not None and resolved.obj.kind != "node" else None
        conversion = choose(obj, self.convert)
        syntax = obj.syntax if obj else None
        if self.rate and self.tag:
            raise ValueError(f"{self.name}: a rate is a number; it cannot be a tag (drop tag or rate)")
        refuse_deadband(self, not self.tag)
        if self.rate and syntax and syntax not in COUNTER_SYNTAXES:
            raise ValueError(
                f"{self.name}: rate = true needs a counter (Counter32 or Counter64); "
                f"{resolved.text} is {syntax}"
            )
        if not self.tag:
            if conversion == "name":
                if obj is not None and obj.enum:
                    conversion = "number"  # a field keeps the enum's number; a tag gets its name
                else:
                    raise ValueError(
                        f"{self.name}: {resolved.text} is an OBJECT IDENTIFIER; "
                        "it can only be a tag (tag = true)"
                    )
            elif conversion in TEXT_CONVERSIONS and conversion != "date":
                raise ValueError(
                    f"{self.name}: {resolved.text} is text ({syntax or conversion}); text "
                    'goes into tags (tag = true), or convert = "number" if it holds a number'
                )
        self._conversion = conversion


class ScalarField(_Value):
    """One scalar (``[[devices.snmp.fields]]``): read with GET, once per poll."""

    measurement: Name | None = None

    @model_validator(mode="after")
    def _scalar(self) -> ScalarField:
        resolved = self._resolve(self.oid)
        obj = resolved.obj
        if obj is not None and not resolved.instance:
            if obj.kind == "column":
                raise ValueError(
                    f"{resolved.text} is a table column: read it in a [[tables]] entry, "
                    f"or name one row, e.g. {resolved.text}.1"
                )
            if obj.kind == "node":
                raise ValueError(
                    f"{resolved.text} is not a value but a branch of the MIB; name a "
                    "scalar such as SNMPv2-MIB::sysUpTime"
                )
            resolved = Resolved((*obj.oid, 0), obj, (0,))  # a scalar's one instance
        self._resolved = resolved
        self._check_value()
        return self


class Column(_Value):
    """One column of a table (``columns``): walked for every row."""

    fallback: str | None = Field(default=None, description="column to read when the device lacks oid")
    fallback_scale: float | None = None
    multiply_by: str | None = None
    divide_by: str | None = None
    _fallback: Resolved | None = PrivateAttr(default=None)
    _multiply: Resolved | None = PrivateAttr(default=None)
    _divide: Resolved | None = PrivateAttr(default=None)

    @property
    def fallback_resolved(self) -> Resolved | None:
        """The fallback column, if any."""
        return self._fallback

    @property
    def multiply_resolved(self) -> Resolved | None:
        """The column of the same row this value is multiplied by."""
        return self._multiply

    @property
    def divide_resolved(self) -> Resolved | None:
        """The column of the same row this value is divided by."""
        return self._divide

    @model_validator(mode="after")
    def _column(self) -> Column:
        self._resolved = self._as_column(self.oid, "oid")
        self._check_value()
        if self.fallback is not None:
            self._fallback = self._as_column(self.fallback, "fallback")
        if self.multiply_by is not None:
            self._multiply = self._as_column(self.multiply_by, "multiply_by")
        if self.divide_by is not None:
            self._divide = self._as_column(self.divide_by, "divide_by")
        return self

    def _as_column(self, text: str, key: str) -> Resolved:
        resolved = self._resolve(text)
        obj = resolved.obj
        if obj is not None and (resolved.instance or obj.kind != "column"):
            what = (
                "a scalar: read it in [[fields]]"
                if obj.kind == "scalar"
                else "a row, not a column: give the column without the row index"
                if resolved.instance
                else "a table or branch, not a column: name one of its columns"
            )
            raise ValueError(f"{self.name}: {key} {resolved.text} is {what}")
        return resolved


class Table(BaseModel):
    """A table (``[[devices.snmp.tables]]``): each row becomes one point, its index a tag."""

    model_config = ConfigDict(extra="forbid")

    measurement: Name
    index_tag: SnakeCase = "index"
    discontinuity: str | None = Field(
        default=None,
        description="a TimeStamp column, e.g. "
        "IF-MIB::ifCounterDiscontinuityTime: when it changes, rates restart",
    )
    columns: list[Column] = Field(min_length=1)
    _discontinuity: Resolved | None = PrivateAttr(default=None)

    @property
    def discontinuity_resolved(self) -> Resolved | None:
        """The discontinuity column, if any."""
        return self._discontinuity

    @model_validator(mode="after")
    def _table(self) -> Table:
        seen = {self.index_tag}
        for column in self.columns:
            if column.name in seen:
                raise ValueError(
                    f"{self.measurement}: {column.name!r} is used twice "
                    "(column names and index_tag must differ)"
                )
            seen.add(column.name)
        if self.discontinuity is not None:
            try:
                resolved = mibs().resolve(self.discontinuity)
            except MibError as exc:
                raise ValueError(f"discontinuity: {exc}") from None
            if resolved.obj is not None and (resolved.instance or resolved.obj.kind != "column"):
                raise ValueError(f"discontinuity: {resolved.text} is not a table column")
            self._discontinuity = resolved
        return self


class SnmpDevice(DeviceReporting, IdentityKeys):
    """An SNMP agent (switch, Wi-Fi controller, UPS, printer) polled by the agent."""

    model_config = ConfigDict(extra="forbid")

    name: Name = Field(description="unique device name, becomes the device tag")
    host: str = Field(min_length=1)
    port: int = Field(default=161, ge=1, le=65535)
    version: Version = "2c"
    community: SecretStr | None = None
    community_file: SecretFile | None = None
    user: str | None = Field(default=None, min_length=1)
    auth: AuthProtocol | None = None
    auth_key_file: SecretFile | None = None
    priv: PrivProtocol | None = None
    priv_key_file: SecretFile | None = None
    context: str = ""
    interval: Duration | None = None
    timeout: Duration = 2.0
    retries: int = Field(default=1, ge=0, le=10)
    max_repetitions: int = Field(default=25, ge=1, le=200, description="rows per GETBULK")
    max_rows: int = Field(
        default=20_000,
        ge=1,
        le=1_000_000,
        description="rows a table may have; past it a runaway agent is cut off and counted",
    )
    max_varbinds: int = Field(default=32, ge=1, le=256, description="OIDs per request")
    profile: str | list[str] | None = None
    measurement: Name | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    fields: list[ScalarField] = Field(default_factory=list)
    tables: list[Table] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _before(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = merge_profiles(data)
        version = data.get("version")
        if isinstance(version, int) and not isinstance(version, bool):
            if version == 2:
                raise ValueError('version 2 is ambiguous: write version = "2c" (community based)')
            data = {**data, "version": str(version)}
        return data

    @model_validator(mode="after")
    def _complete(self) -> SnmpDevice:
        self._check_security()
        if not self.fields and not self.tables:
            raise ValueError(
                'nothing to read: add profile = "if-mib" (or a list of profiles), '
                "[[devices.snmp.fields]] or [[devices.snmp.tables]]"
            )
        names: dict[str, set[str]] = {}
        for value in self.fields:
            measurement = value.measurement or self.measurement
            if measurement is None:
                raise ValueError(
                    f'field {value.name!r} has no measurement: set measurement = "..." '
                    "on the device or on the field"
                )
            if value.name in names.setdefault(measurement, set()):
                raise ValueError(f"{measurement}: {value.name!r} is defined twice")
            names[measurement].add(value.name)
        if self.version == "1":
            self._check_v1()
        return self

    def _check_security(self) -> None:
        if self.version in ("1", "2c"):
            v3 = [
                k
                for k in ("user", "auth", "auth_key_file", "priv", "priv_key_file")
                if getattr(self, k) is not None
            ]
            if v3:
                raise ValueError(
                    f"{', '.join(v3)}: SNMPv3 settings on a version {self.version} device; "
                    'set version = "3" or remove them'
                )
            if self.community is not None and self.community_file is not None:
                raise ValueError("set community or community_file, not both")
            return
        if self.community is not None or self.community_file is not None:
            raise ValueError("community is for versions 1 and 2c; SNMPv3 uses user, auth and priv")
        if self.user is None:
            raise ValueError('SNMPv3 needs user = "..." (the USM user name)')
        if self.priv is not None and self.auth is None:
            raise ValueError("priv needs auth: SNMPv3 has no privacy without authentication")
        if self.auth is not None and self.auth_key_file is None:
            raise ValueError('auth needs auth_key_file = "/etc/edge-agent/secrets/..." (the passphrase)')
        if self.priv is not None and self.priv_key_file is None:
            raise ValueError('priv needs priv_key_file = "/etc/edge-agent/secrets/..." (the passphrase)')
        if self.auth is None and self.auth_key_file is not None:
            raise ValueError('auth_key_file without auth: set auth = "sha" (or md5, sha224..sha512)')
        if self.priv is None and self.priv_key_file is not None:
            raise ValueError('priv_key_file without priv: set priv = "aes128" (or des, aes192, aes256)')

    def _check_v1(self) -> None:
        values = [*self.fields, *(c for t in self.tables for c in t.columns)]
        for value in values:
            obj = value.resolved.obj
            fallback = getattr(value, "fallback_resolved", None)
            if obj is not None and obj.syntax == "Counter64" and fallback is None:
                raise ValueError(
                    f"{value.name}: {value.resolved.text} is a Counter64, which SNMPv1 "
                    "cannot carry; use a 32-bit counter (e.g. IF-MIB::ifInOctets) or "
                    'version = "2c"'
                )

    @property
    def security_level(self) -> str:
        """noAuthNoPriv, authNoPriv or authPriv (SNMPv3); "community" otherwise."""
        if self.version != "3":
            return "community"
        return "authPriv" if self.priv else "authNoPriv" if self.auth else "noAuthNoPriv"

    @property
    def measurements(self) -> list[str]:
        """Every measurement this device writes, in config order."""
        seen = [f.measurement or self.measurement or "" for f in self.fields]
        seen += [t.measurement for t in self.tables]
        return list(dict.fromkeys(m for m in seen if m))

    @property
    def asset_address(self) -> str:
        """``host:port`` (UDP); the community and keys never."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def pushed(self) -> bool:
        """Polled, not pushed."""
        return False

    def create(self) -> Driver:
        """A driver for this device."""
        return _DRIVER(self)

    def reporting(self) -> tuple[DeviceReporting, list[FieldSettings]]:
        """The device's report keys and each scalar's and column's that is a field (rates: the rate)."""
        values: list[_Value] = [*self.fields, *(c for t in self.tables for c in t.columns)]
        return self, [(v.name, v, True) for v in values if not v.tag]

    def describe(self) -> str:
        """Address, security and cost per poll, for ``edge-agent check``; never a secret."""
        if self.version == "3":
            security = f"v3 user {self.user} {self.security_level}"
            if self.auth:
                security += f" ({self.auth}" + (f"/{self.priv}" if self.priv else "") + ", keys from files)"
        else:
            source = (
                "community from file"
                if self.community_file
                else "inline community"
                if self.community
                else "community public"
            )
            security = f"v{self.version} ({source})"
        gets = -(-len(self.fields) // self.max_varbinds) if self.fields else 0
        columns = sum(len(t.columns) for t in self.tables)
        walk = "GETNEXT" if self.version == "1" else f"GETBULK x{self.max_repetitions}"
        reads = [f"{len(self.fields)} scalars in {gets} GET(s)"] if self.fields else []
        if self.tables:
            reads.append(f"{len(self.tables)} table(s), {columns} columns by {walk}")
        return (
            f"snmp {self.host}:{self.port} {security}: {', '.join(reads)} -> {', '.join(self.measurements)}"
        )


# The driver imports this model; the model names it, so the arrow of imports runs one way.
_DRIVER = Factory[Driver]("drivers.snmp.driver:SnmpDriver")
