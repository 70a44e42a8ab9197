"""Bearer tokens: created by `guidance tokens create`, stored hashed under `<root>/auth/tokens/`.

Only the SHA-256 of a token is stored (a leaked root does not leak credentials). A token is
scoped to advertisers, to a sales rep's book of accounts, or to every account (internal
surfaces and load tests).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import time
from dataclasses import dataclass

from pipelines.errors import ConfigError, GuidanceError
from pipelines.storage.root import Root

TOKEN_DIR = "auth/tokens"


class AuthError(GuidanceError):
    """No token, or a token that is not known."""


class ScopeError(GuidanceError):
    """A known token asks for data outside its scope."""


@dataclass(frozen=True)
class Scope:
    name: str
    advertisers: frozenset[int]
    book: str | None = None
    all_advertisers: bool = False

    def allows(self, advertiser_id: int) -> bool:
        return self.all_advertisers or advertiser_id in self.advertisers

    def check(self, advertiser_id: int) -> None:
        if not self.allows(advertiser_id):
            raise ScopeError(f"token {self.name!r} may not read advertiser {advertiser_id}")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(root: Root, name: str, advertisers: list[int], book: str | None = None,
           all_advertisers: bool = False) -> str:
    """A new random token for the scope; only its hash is written. Returns the token itself."""
    if not name.strip():
        raise ConfigError("token name must not be empty")
    if not advertisers and not all_advertisers:
        raise ConfigError("a token needs --advertisers (or --book with --advertisers), or --all")
    if any(a < 0 for a in advertisers):
        raise ConfigError(f"advertiser ids must be ≥ 0, got {sorted(advertisers)[:3]}")
    token = "gdn_" + secrets.token_urlsafe(32)
    record = {"name": name, "advertisers": sorted(set(int(a) for a in advertisers)), "book": book,
              "all_advertisers": all_advertisers,
              "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    root.write_atomic(f"{TOKEN_DIR}/{token_hash(token)}.json", json.dumps(record).encode())
    return token


def _scope(record: dict) -> Scope:
    return Scope(name=record["name"], advertisers=frozenset(record["advertisers"]),
                 book=record.get("book"), all_advertisers=bool(record.get("all_advertisers")))


class TokenStore:
    """Token hashes under a root, looked up by file name and cached; a cached token is checked
    again after a minute, so a deleted (revoked) token stops working within that time."""

    def __init__(self, root: Root, ttl_s: float = 60.0):
        self.root = root
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[Scope, float]] = {}

    def _lookup(self, digest: str) -> Scope | None:
        hit = self._cache.get(digest)
        now = time.monotonic()
        if hit is not None and now - hit[1] < self.ttl_s:
            return hit[0]
        path = f"{TOKEN_DIR}/{digest}.json"
        if not self.root.exists(path):
            self._cache.pop(digest, None)
            return None
        with self.root.fs.open_input_stream(self.root.join(path)) as f:
            scope = _scope(json.loads(f.read()))
        self._cache[digest] = (scope, now)
        return scope

    def scope(self, metadata) -> Scope:
        """The scope of the bearer token in gRPC metadata ((key, value) pairs)."""
        token = None
        for key, value in metadata or ():
            if key.lower() == "authorization":
                token = value[7:].strip() if value[:7].lower() == "bearer " else None
        if not token:
            raise AuthError("missing bearer token: send metadata 'authorization: Bearer <token>'")
        scope = self._lookup(token_hash(token))
        if scope is None:
            raise AuthError("unknown bearer token")
        return scope
