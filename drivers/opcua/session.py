"""One OPC UA session to a device's server: connect, resolve the configured nodes, read them.

asyncua does the wire; this module decides what a technician is told. Every call has the
device's timeout; a failure is an :class:`OpcuaError` whose reason says what to change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from asyncua import Client, ua
from asyncua.ua.uaerrors import UaError, UaStatusCodeError
from cryptography.hazmat.primitives.serialization import Encoding

from campus_core.files import SecretError, read_secret_file

from .config import OpcuaDevice, split_path
from .security import SecurityProblem, load_certificate, offered, secure, set_identity, thumbprint

# asyncua logs every lost connection and refused request itself, with tracebacks; the
# driver's own log line names the device and what to do.
logging.getLogger("asyncua").setLevel(logging.CRITICAL)

OBJECTS = ua.NodeId(ua.ObjectIds.ObjectsFolder)
MAX_NODES_PER_READ = ua.NodeId(ua.ObjectIds.Server_ServerCapabilities_OperationLimits_MaxNodesPerRead)
SERVER_STATE = ua.NodeId(ua.ObjectIds.Server_ServerStatus_State)
HIERARCHICAL = ua.NodeId(ua.ObjectIds.HierarchicalReferences)
#: Browse requests carry at most this many nodes (servers' MaxNodesPerBrowse is rarely lower).
BROWSE_CHUNK = 100


class OpcuaError(Exception):
    """The server cannot be used now; ``reason`` says what to check or change."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Resolved:
    """Where each configured node is on this server: a NodeId, or why there is none."""

    node_ids: list[Any | None]
    problems: list[str | None]


def status_name(code: int) -> str:
    """``BadNodeIdUnknown`` for its number."""
    return str(ua.StatusCode(code).name)


def describe_failure(exc: BaseException, config: OpcuaDevice, during: str) -> str:
    """What went wrong while ``during`` (connecting, reading), in a technician's words."""
    url = config.url
    cause = exc.__cause__
    if type(exc) is UaError and cause is not None:
        # asyncua 1.1.8 wraps a timeout or a socket error as "Failed to send request".
        exc = cause
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return (
            f"no answer from {url} within {config.timeout:g}s while {during}; check that the "
            "server is running and reachable, or raise timeout"
        )
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused by {url}; check the host and port of url (OPC UA's default is 4840)"
    if isinstance(exc, OSError) and not isinstance(exc, ConnectionError):
        return f"cannot reach {url}: {exc.strerror or exc}; check the host name in url"
    if isinstance(exc, ConnectionError):
        return f"the connection to {url} was lost while {during}; the server closed it or restarted"
    if isinstance(exc, UaStatusCodeError):
        return f"{url} answered {status_name(exc.code)} while {during}"
    return f"{url} failed while {during}: {exc or type(exc).__name__}"


class Session:
    """The live session of one device, kept across polls and opened again when lost."""

    def __init__(self, config: OpcuaDevice) -> None:
        self._config = config
        self._client: Client | None = None
        self.limit = config.max_nodes_per_read
        self.connects = 0
        #: Read requests sent, all sessions.
        self.reads = 0
        #: Nodes whose deadband filter the server refused (monitored plainly instead).
        self.filters_refused = 0

    @property
    def config(self) -> OpcuaDevice:
        """The device this session serves."""
        return self._config

    @property
    def open(self) -> bool:
        """A session is established."""
        return self._client is not None

    @property
    def client(self) -> Client:
        """The asyncua client of the open session."""
        if self._client is None:
            raise OpcuaError("no session")
        return self._client

    async def connect(self) -> None:
        """Open a session: channel, security, identity; learn the server's MaxNodesPerRead."""
        config = self._config
        client = Client(config.url, timeout=config.timeout, watchdog_intervall=max(config.timeout, 10.0))
        try:
            async with asyncio.timeout(config.timeout * 3):
                await self._connect(client)
        except OpcuaError:
            await _drop(client)
            raise
        except SecretError as exc:
            await _drop(client)
            raise OpcuaError(str(exc)) from None
        except (UaError, OSError, TimeoutError, ConnectionError) as exc:
            await _drop(client)
            raise OpcuaError(describe_failure(exc, config, "connecting")) from None
        self._client = client
        self.connects += 1
        self.limit = await self._read_limit(client)

    async def _connect(self, client: Client) -> None:
        config = self._config
        password = None
        if config.password_file is not None:
            # Read at every connect, so a changed password is used without a restart.
            password = read_secret_file(config.password_file, "password_file").rstrip("\r\n")
        try:
            if config.policy != "None":
                await secure(client, config, await client.connect_and_get_server_endpoints())
            set_identity(client, config, password)
        except SecurityProblem as exc:
            raise OpcuaError(str(exc)) from None
        try:
            await client.connect()
        except UaStatusCodeError as exc:
            raise OpcuaError(await self._refused(exc.code)) from None
        except UaError as exc:
            if "No matching endpoints" not in str(exc):
                raise
            # asyncua's words for a server without an endpoint of this policy and mode.
            raise OpcuaError(await self._refused(ua.StatusCodes.BadSecurityPolicyRejected)) from None

    async def _refused(self, code: int) -> str:
        """What a refused connect means, with what the server offers when that helps."""
        config = self._config
        name = status_name(code)
        codes = ua.StatusCodes
        if code in (codes.BadIdentityTokenRejected, codes.BadIdentityTokenInvalid, codes.BadUserAccessDenied):
            if config.username is not None:
                return (
                    f"{config.url} rejected user {config.username!r} ({name}); check username and the "
                    "password in password_file against the machine's user list"
                )
            if config.user_cert_file is not None:
                return (
                    f"{config.url} rejected the user certificate {str(config.user_cert_file)!r} "
                    f"({name}); add it to the machine's trusted user certificates"
                )
            return (
                f"{config.url} refuses anonymous sessions ({name}); set username and password_file, "
                "or user_cert_file and user_key_file"
            )
        if code in (codes.BadSecurityPolicyRejected, codes.BadSecurityModeRejected):
            offers = await self._offers()
            return (
                f"{config.url} refused policy {config.policy} with security_mode "
                f"{config.effective_security_mode} ({name}); it offers: {offers}"
            )
        if code in (
            codes.BadCertificateUntrusted,
            codes.BadSecurityChecksFailed,
            codes.BadCertificateInvalid,
            codes.BadCertificateUriInvalid,
            codes.BadCertificateRevoked,
            codes.BadCertificateTimeInvalid,
        ):
            mine = "the agent's certificate"
            if config.cert_file is not None:
                with contextlib.suppress(SecurityProblem):
                    cert = load_certificate(config.cert_file, "cert_file")
                    mine += f" (cert_file, thumbprint {thumbprint(cert.public_bytes(Encoding.DER))})"
            return (
                f"{config.url} does not accept {mine} ({name}); trust it on the machine "
                "(its OPC UA server's trusted clients, or accept the rejected certificate there)"
            )
        return f"{config.url} refused the session: {name}"

    async def _offers(self) -> str:
        probe = Client(self._config.url, timeout=self._config.timeout)
        try:
            async with asyncio.timeout(self._config.timeout):
                endpoints = await probe.connect_and_get_server_endpoints()
        except (UaError, OSError, TimeoutError, ConnectionError):
            return "(the server did not list its endpoints)"
        return ", ".join(str(o) for o in offered(endpoints)) or "nothing"

    async def _read_limit(self, client: Client) -> int:
        """The smaller of ``max_nodes_per_read`` and the server's MaxNodesPerRead (0: none)."""
        limit = self._config.max_nodes_per_read
        with contextlib.suppress(UaError, TimeoutError, asyncio.TimeoutError):
            (value,) = await client.uaclient.read_attributes([MAX_NODES_PER_READ], ua.AttributeIds.Value)
            if value.StatusCode_.is_good() and value.Value is not None:
                served = int(value.Value.Value or 0)
                if served > 0:
                    limit = min(limit, served)
        return limit

    async def close(self) -> None:
        """End the session (best effort, bounded by the timeout)."""
        client, self._client = self._client, None
        if client is not None:
            await _drop(client, self._config.timeout)

    async def resolve(self) -> Resolved:
        """The NodeId of every configured node: parsed, or found by its browse path."""
        config = self._config
        client = self.client
        namespaces: list[str] = await client.get_namespace_array()
        node_ids: list[Any | None] = []
        problems: list[str | None] = []
        paths: dict[int, list[tuple[int | None, str]]] = {}
        root_id, root_path = self._root(namespaces)
        for index, spec in enumerate(config.nodes):
            if spec.node is not None:
                node_id, problem = _parse_node_id(spec.node, namespaces)
                node_ids.append(node_id)
                problems.append(problem)
            else:
                node_ids.append(None)
                problems.append(None)
                paths[index] = root_path + split_path(spec.path or "")
        if paths:
            found = await self._browse_paths(root_id, list(paths.values()))
            for index, (node_id, problem) in zip(paths, found, strict=True):
                node_ids[index] = node_id
                problems[index] = problem
        return Resolved(node_ids, problems)

    def _root(self, namespaces: list[str]) -> tuple[Any, list[tuple[int | None, str]]]:
        """Where the configured paths start: a NodeId, or a browse path down from Objects."""
        root = self._config.root
        if root is None:
            return OBJECTS, []
        if "=" in root:
            root_id, problem = _parse_node_id(root, namespaces)
            if problem is not None:
                raise OpcuaError(f"root {root!r}: {problem}")
            return root_id, []
        return OBJECTS, split_path(root)

    async def find(
        self, paths: list[list[tuple[int | None, str]]], namespaces: list[str]
    ) -> list[tuple[Any | None, str | None]]:
        """The NodeId of each browse path below the device's root (Objects without one), or why none."""
        start, prefix = self._root(namespaces)
        return await self._browse_paths(start, [prefix + path for path in paths])

    async def _browse_paths(
        self, start: Any, paths: list[list[tuple[int | None, str]]]
    ) -> list[tuple[Any | None, str | None]]:
        """Walk every path down from ``start`` level by level, one Browse for all nodes of a level."""
        known: dict[tuple[tuple[int | None, str], ...], Any] = {(): start}
        missing: dict[tuple[tuple[int | None, str], ...], str] = {}
        depth = max(len(p) for p in paths)
        for level in range(depth):
            parents = {tuple(p[:level]) for p in paths if len(p) > level and tuple(p[:level]) in known}
            if not parents:
                break
            ordered = sorted(parents, key=str)
            children = await self._browse([known[p] for p in ordered])
            for prefix, refs in zip(ordered, children, strict=True):
                wanted = {p[level] for p in paths if len(p) > level and tuple(p[:level]) == prefix}
                for element in wanted:
                    ns, name = element
                    match = [
                        ref
                        for ref in refs
                        if ref.BrowseName.Name == name and (ns is None or ref.BrowseName.NamespaceIndex == ns)
                    ]
                    if match:
                        known[(*prefix, element)] = match[0].NodeId
                    else:
                        here = "/".join(_show(e) for e in prefix) or "the start"
                        near = ", ".join(sorted({r.BrowseName.Name for r in refs})[:12]) or "nothing"
                        missing[(*prefix, element)] = f"no {name!r} below {here} (there: {near})"
        out: list[tuple[Any | None, str | None]] = []
        for path in paths:
            key = tuple(path)
            if key in known:
                out.append((known[key], None))
                continue
            problem = next(
                (missing[key[:n]] for n in range(1, len(key) + 1) if key[:n] in missing), "not found"
            )
            out.append((None, problem))
        return out

    async def _browse(self, node_ids: list[Any]) -> list[list[Any]]:
        """The hierarchical children of each node (with continuation points followed)."""
        client = self.client
        out: list[list[Any]] = []
        for start in range(0, len(node_ids), BROWSE_CHUNK):
            params = ua.BrowseParameters()
            params.View = ua.ViewDescription()
            params.RequestedMaxReferencesPerNode = 0
            for node_id in node_ids[start : start + BROWSE_CHUNK]:
                desc = ua.BrowseDescription()
                desc.NodeId = node_id
                desc.BrowseDirection = ua.BrowseDirection.Forward
                desc.ReferenceTypeId = HIERARCHICAL
                desc.IncludeSubtypes = True
                desc.NodeClassMask = 0
                desc.ResultMask = ua.BrowseResultMask.All
                params.NodesToBrowse.append(desc)
            for result in await client.uaclient.browse(params):
                refs = list(result.References)
                point = result.ContinuationPoint
                while point:
                    more = await client.uaclient.browse_next(_next_params(point))
                    refs += list(more[0].References)
                    point = more[0].ContinuationPoint
                out.append(refs)
        return out

    async def alive(self) -> None:
        """One small Read (the server's state): fails when the session is gone."""
        self.reads += 1
        (value,) = await self.client.uaclient.read_attributes([SERVER_STATE], ua.AttributeIds.Value)
        value.StatusCode_.check()

    async def subscribe(
        self, node_ids: list[Any], handler: Any, deadbands: list[float | None] | None = None
    ) -> list[int | None]:
        """A subscription to every node's data changes; the handle per node, None where refused.

        A node with an absolute deadband (in the server's own units) is monitored with the
        server's DataChangeFilter, so the server sends only what moved past it; a server that
        refuses the filter monitors the node without one, and the agent's deadband applies.
        """
        client = self.client
        period_ms = self._config.publishing_interval * 1000
        subscription = await client.create_subscription(period_ms, handler)
        bands = deadbands or [None] * len(node_ids)
        handles: list[Any] = [None] * len(node_ids)
        plain = [i for i, band in enumerate(bands) if not band]
        for band in sorted({band for band in bands if band}):
            filtered = [i for i, b in enumerate(bands) if b == band]
            answers = await subscription.deadband_monitor(
                [client.get_node(node_ids[i]) for i in filtered], band, queuesize=10
            )
            for i, answer in zip(filtered, answers, strict=True):
                if isinstance(answer, int):
                    handles[i] = answer
                else:
                    plain.append(i)  # the filter refused: monitored plainly, the agent filters
                    self.filters_refused += 1
        if plain:
            answers = await subscription.subscribe_data_change(
                [client.get_node(node_ids[i]) for i in plain], sampling_interval=period_ms, queuesize=10
            )
            for i, answer in zip(plain, answers, strict=True):
                handles[i] = answer
        return [h if isinstance(h, int) else None for h in handles]

    async def read(self, node_ids: list[Any]) -> list[Any]:
        """The DataValue of each node, in chunks the server accepts; one Read per chunk."""
        client = self.client
        values: list[Any] = []
        start = 0
        while start < len(node_ids):
            chunk = node_ids[start : start + self.limit]
            self.reads += 1
            try:
                values += await client.uaclient.read_attributes(chunk, ua.AttributeIds.Value)
            except UaStatusCodeError as exc:
                if exc.code == ua.StatusCodes.BadTooManyOperations and self.limit > 1:
                    # The server's limit is lower than it says (or it says none): halve and keep it.
                    self.limit = max(1, len(chunk) // 2)
                    continue
                raise
            start += len(chunk)
        return values


def _next_params(point: bytes) -> Any:
    params = ua.BrowseNextParameters()
    params.ReleaseContinuationPoints = False
    params.ContinuationPoints = [point]
    return params


def _show(element: tuple[int | None, str]) -> str:
    ns, name = element
    return name if ns is None else f"{ns}:{name}"


def _parse_node_id(text: str, namespaces: list[str]) -> tuple[Any | None, str | None]:
    """A NodeId of this server, ``nsu=`` resolved to its index; or why not."""
    try:
        node_id = ua.NodeId.from_string(text.strip())
    except (ValueError, UaError) as exc:
        return None, f"not a NodeId ({exc})"
    uri = getattr(node_id, "NamespaceUri", None)
    if uri:
        if uri not in namespaces:
            return None, (f"the server has no namespace {uri!r} (it has: {', '.join(namespaces)})")
        node_id = ua.NodeId(node_id.Identifier, namespaces.index(uri), node_id.NodeIdType)
    return node_id, None


async def _drop(client: Client, wait: float = 2.0) -> None:
    """Close what is left of a client without waiting on a server that does not answer."""
    try:
        async with asyncio.timeout(wait):
            await client.disconnect()
    except (UaError, OSError, TimeoutError, ConnectionError, AttributeError):
        with contextlib.suppress(Exception):
            client.disconnect_socket()
