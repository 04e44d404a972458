"""The few kubo RPC calls the farm logic makes (docs.ipfs.tech "kubo RPC API v0"), async over
httpx: read a prefix or a whole small file, read a dag-pb node, put a block, and kubo's MFS
(``files/*``) for directories too large for one node.

Every call has the coordinator's ``kubo_timeout_seconds``; replies are checked (sizes, shapes)
before use. Failures raise ``KuboError`` saying which call and why.
"""

from __future__ import annotations

import asyncio
import base64
import json

import httpx


class KuboError(Exception):
    """A kubo RPC call failed or answered something unexpected; the message says which."""


class Kubo:
    """``api_url``: kubo's RPC base URL (e.g. http://127.0.0.1:5001); ``timeout``: seconds."""

    def __init__(self, api_url: str, timeout: float = 30.0):
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None
        self._loop = None

    def _http(self) -> httpx.AsyncClient:
        """One connection pool per event loop (making a client costs ~20-200 ms: its TLS
        context is built even for http://)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = httpx.AsyncClient(timeout=self.timeout)
            self._loop = loop
        return self._client

    async def _post(self, path: str, params, files=None, limit: int = 1 << 20) -> bytes:
        url = f"{self.api_url}/api/v0/{path}"
        try:
            async with self._http().stream("POST", url, params=params, files=files) as resp:
                body = bytearray()
                async for chunk in resp.aiter_bytes():
                    body += chunk
                    if len(body) > limit:
                        raise KuboError(f"kubo {path}: reply larger than {limit} bytes")
                if resp.status_code != 200:
                    raise KuboError(f"kubo {path} answered {resp.status_code}: "
                                    f"{bytes(body[:300]).decode(errors='replace')}")
                return bytes(body)
        except httpx.HTTPError as exc:
            raise KuboError(f"kubo {path} at {self.api_url}: {type(exc).__name__}: {exc}") \
                from None

    async def _json(self, path: str, params, files=None) -> dict:
        body = await self._post(path, params, files)
        try:
            value = json.loads(body)
        except ValueError:
            raise KuboError(f"kubo {path}: reply is not JSON: {body[:200]!r}") from None
        if not isinstance(value, dict):
            raise KuboError(f"kubo {path}: reply is not a JSON object")
        return value

    async def cat(self, cid: str, limit: int, length: int | None = None) -> bytes:
        """The file ``cid`` (its first ``length`` bytes when given); KuboError if it is larger
        than ``limit`` bytes."""
        params = [("arg", cid)] + ([("length", str(length))] if length else [])
        return await self._post("cat", params, limit=limit)

    async def cat_chunks(self, cid: str, limit: int):
        """The file ``cid`` as an async iterator of byte chunks (a whole .blend, never held
        whole); KuboError when kubo fails or the file is larger than ``limit`` bytes."""
        url = f"{self.api_url}/api/v0/cat"
        try:
            async with self._http().stream("POST", url, params=[("arg", cid)]) as resp:
                if resp.status_code != 200:
                    body = await resp.aread()
                    raise KuboError(f"kubo cat answered {resp.status_code}: "
                                    f"{body[:300].decode(errors='replace')}")
                seen = 0
                async for chunk in resp.aiter_bytes():
                    seen += len(chunk)
                    if seen > limit:
                        raise KuboError(f"kubo cat {cid}: larger than {limit} bytes")
                    yield chunk
        except httpx.HTTPError as exc:
            raise KuboError(f"kubo cat at {self.api_url}: {type(exc).__name__}: {exc}") \
                from None

    async def node(self, cid: str) -> dict:
        """A dag-pb node as {"data": bytes, "links": [{"name", "cid", "tsize"}]}, from
        ``dag/get`` (dag-json)."""
        value = await self._json("dag/get", [("arg", cid), ("output-codec", "dag-json")])
        try:
            raw = value.get("Data", {}).get("/", {}).get("bytes", "") if "Data" in value else ""
            data = base64.b64decode(raw + "=" * (-len(raw) % 4))
            links = [{"name": str(l.get("Name", "")), "cid": str(l["Hash"]["/"]),
                      "tsize": int(l.get("Tsize", 0))} for l in value.get("Links", [])]
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise KuboError(f"kubo dag/get {cid}: unexpected node shape ({exc})") from None
        return {"data": data, "links": links}

    async def stat(self, cid: str) -> tuple[str, int]:
        """(UnixFS type "file"|"directory"|…, cumulative DAG size in bytes = the Tsize a parent
        link to it carries) from ``files/stat`` of /ipfs/CID (reads only its root node)."""
        value = await self._json("files/stat", [("arg", f"/ipfs/{cid}")])
        kind, size = value.get("Type"), value.get("CumulativeSize")
        if not isinstance(kind, str) or not isinstance(size, int) or size < 0:
            raise KuboError(f"kubo files/stat {cid}: unexpected reply {value}")
        return kind, size

    async def block_size(self, cid: str) -> int:
        """Size in bytes of the block ``cid``."""
        value = await self._json("block/stat", [("arg", cid)])
        size = value.get("Size")
        if not isinstance(size, int) or size < 0:
            raise KuboError(f"kubo block/stat {cid}: no size in {value}")
        return size

    async def put_dag_pb(self, block: bytes) -> str:
        """Store a dag-pb block (sha2-256); the CID kubo reports (CIDv1)."""
        value = await self._json("block/put", [("cid-codec", "dag-pb"), ("mhtype", "sha2-256")],
                                 files={"file": ("block", block, "application/octet-stream")})
        if not isinstance(value.get("Key"), str):
            raise KuboError(f"kubo block/put: no Key in {value}")
        return value["Key"]

    async def mfs_directory(self, path: str, entries: list[tuple[str, str]]) -> str:
        """Build an MFS directory ``path`` holding ``entries`` [(name, cid)] (CIDv0, the
        default import's), read its CID and remove the MFS copy; kubo shards it like
        ``ipfs add -r`` when large."""
        await self._post("files/rm", [("arg", path), ("recursive", "true"), ("force", "true")])
        await self._post("files/mkdir", [("arg", path), ("parents", "true"),
                                         ("cid-version", "0")])
        for name, cid in entries:
            await self._post("files/cp", [("arg", f"/ipfs/{cid}"), ("arg", f"{path}/{name}")])
        value = await self._json("files/stat", [("arg", path), ("hash", "true")])
        await self._post("files/rm", [("arg", path), ("recursive", "true"), ("force", "true")])
        if not isinstance(value.get("Hash"), str):
            raise KuboError(f"kubo files/stat {path}: no Hash in {value}")
        return value["Hash"]
