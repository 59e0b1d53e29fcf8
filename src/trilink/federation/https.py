"""``HttpsTransport``: batches over HTTPS with mutual TLS (httpx), one client per node.

The partner is authenticated twice: TLS verifies its certificate chain, and every answer is
checked to come from the nation we meant to reach (the certificate's common name), so a
misconfigured URL pointing at another node is an error, not a silent misdelivery.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping, Sequence

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from trilink.errors import ConfigError, FederationError
from trilink.federation.transport import PushReply, Transport, TransportError
from trilink.node.config import NodeConfig
from trilink.provenance.pki import nation_of
from trilink.provenance.trust import read_bundle

_TIMEOUT = httpx.Timeout(10.0, connect=2.0)
_LIMITS = httpx.Limits(max_connections=4)


def client_ssl_context(config: NodeConfig, cas: Sequence[x509.Certificate]) -> ssl.SSLContext:
    """TLS as this node's client: our certificate, and servers trusted only if one of
    ``cas`` (the CA certificates of the nation we mean to reach) issued theirs."""
    pem = "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in cas)
    ctx = ssl.create_default_context(cadata=pem)
    ctx.load_cert_chain(str(config.tls_cert), str(config.tls_key))
    return ctx


def server_nation(response: httpx.Response) -> str | None:
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    der = ssl_object.getpeercert(True) if ssl_object is not None else None
    return nation_of(x509.load_der_x509_certificate(der)) if der else None


class HttpsTransport(Transport):
    """One HTTPS client per partner, each trusting only that partner's CA certificates."""

    def __init__(self, config: NodeConfig, anchors: Mapping[str, Sequence[x509.Certificate]]):
        self.urls = dict(config.partner_urls)
        self._contexts = {
            partner: client_ssl_context(config, anchors[partner])
            for partner in self.urls
            if partner in anchors
        }
        self._clients = {
            partner: httpx.AsyncClient(verify=context, timeout=_TIMEOUT, limits=_LIMITS)
            for partner, context in self._contexts.items()
        }
        # Feeds are read by a blocking client in a worker thread: a 3 MB batch arrives in
        # 16 KB TLS records, and the async client spent about 0.1 ms of event-loop time per
        # record (timeouts, cancel scopes, stream wrappers) where the blocking one waits in
        # recv() without the GIL (profiled on a node catching up: the async read of its
        # partner's feed took more of the process than storing it).
        self._readers = {
            partner: httpx.Client(verify=context, timeout=_TIMEOUT, limits=_LIMITS)
            for partner, context in self._contexts.items()
        }

    def trust(self, partner: str, ca: x509.Certificate) -> None:
        """Accept servers ``ca`` certifies for ``partner`` from the next connection on (its
        next CA, learned through a rollover link)."""
        context = self._contexts.get(partner)
        if context is not None:
            context.load_verify_locations(
                cadata=ca.public_bytes(serialization.Encoding.PEM).decode("ascii")
            )

    async def _request(
        self,
        partner: str,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        params: dict[str, int] | None = None,
    ) -> httpx.Response:
        url = self.urls.get(partner)
        client = self._clients.get(partner)
        if url is None or client is None:
            raise TransportError(f"no URL or trust bundle configured for partner {partner}")
        headers = {"content-type": "application/json"} if content is not None else None
        try:
            response = await client.request(
                method, url + path, content=content, params=params, headers=headers
            )
        except httpx.HTTPError as err:
            raise TransportError(f"{partner} unreachable at {url}: {err!r}") from None
        return self._checked(partner, url, response)

    async def _read(self, partner: str, path: str, params: dict[str, int] | None = None) -> bytes:
        """The body of a GET, read by the blocking client in a worker thread."""
        url = self.urls.get(partner)
        reader = self._readers.get(partner)
        if url is None or reader is None:
            raise TransportError(f"no URL or trust bundle configured for partner {partner}")

        def get() -> bytes:
            try:
                response = reader.get(url + path, params=params)
            except httpx.HTTPError as err:
                raise TransportError(f"{partner} unreachable at {url}: {err!r}") from None
            return self._checked(partner, url, response).content

        return await asyncio.to_thread(get)

    @staticmethod
    def _checked(partner: str, url: str, response: httpx.Response) -> httpx.Response:
        if server_nation(response) != partner:
            raise TransportError(f"the server at {url} is not {partner} (certificate mismatch)")
        if response.status_code >= 400:
            raise TransportError(
                f"{partner} answered {response.status_code}: {response.text[:300]}"
            )
        return response

    async def send_batch(self, partner: str, body: bytes) -> PushReply:
        response = await self._request(partner, "POST", "/v1/push", content=body)
        try:
            data = response.json()
        except ValueError:
            raise TransportError(f"{partner} answered a push with something not JSON") from None
        return PushReply.from_json(partner, data)

    async def fetch_feed(self, partner: str, after: int, limit: int) -> bytes:
        return await self._read(partner, "/v1/feed", {"after": after, "limit": limit})

    async def fetch_returns(self, partner: str, after_origin_seq: int, limit: int) -> bytes:
        return await self._read(
            partner, "/v1/returns", {"after": after_origin_seq, "limit": limit}
        )

    async def fetch_witnessed(self, partner: str) -> bytes:
        return await self._read(partner, "/v1/audit-head")

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        for reader in self._readers.values():
            reader.close()


def ask_witnesses(config: NodeConfig) -> dict[str, bytes | str]:
    """What each partner of this node answers at ``/v1/audit-head`` (the newest signed
    head of our audit log it holds), or why it could not be asked; over mutual TLS with
    this node's own key, each partner trusted only through its bundle."""

    async def ask_all() -> dict[str, bytes | str]:
        answers: dict[str, bytes | str] = {}
        anchors: dict[str, Sequence[x509.Certificate]] = {}
        for partner in sorted(config.policy.partners):
            path = config.partner_bundles.get(partner)
            if path is None:
                answers[partner] = f"no trust bundle configured for {partner}"
                continue
            try:
                anchors[partner] = read_bundle(path).cas
            except ConfigError as err:
                answers[partner] = str(err)
        try:
            transport = HttpsTransport(config, anchors)
        except (OSError, ssl.SSLError) as err:
            return {p: f"this node's TLS key cannot be used ({err})" for p in anchors} | answers

        async def ask(partner: str) -> None:
            try:
                answers[partner] = await transport.fetch_witnessed(partner)
            except FederationError as err:
                answers[partner] = str(err)

        try:
            await asyncio.gather(*(ask(p) for p in anchors))
        finally:
            await transport.aclose()
        return answers

    return asyncio.run(ask_all())
