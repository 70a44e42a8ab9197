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
import threading
import time
from dataclasses import dataclass

from pipelines.errors import ConfigError, GuidanceError
from pipelines.storage.root import Root

TOKEN_DIR = "auth/tokens"
_RESCAN_SECONDS = 2.0  # how often an unknown token may trigger a re-read of the token folder


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
    root.fs.create_dir(root.join(TOKEN_DIR), recursive=True)
    digest = token_hash(token)
    staged = root.join(TOKEN_DIR, f".{digest}.tmp")
    with root.fs.open_output_stream(staged) as f:
        f.write(json.dumps(record).encode())
    root.fs.move(staged, root.join(TOKEN_DIR, f"{digest}.json"))
    return token


def _scope(record: dict) -> Scope:
    return Scope(name=record["name"], advertisers=frozenset(record["advertisers"]),
                 book=record.get("book"), all_advertisers=bool(record.get("all_advertisers")))


class TokenStore:
    """The token hashes under a root, read into memory; re-read (at most every 2 s) when an
    unknown token shows up, so tokens created while the service runs work at once."""

    def __init__(self, root: Root):
        self.root = root
        self._scopes: dict[str, Scope] = {}
        self._scanned = 0.0
        self._lock = threading.Lock()
        self._scan()

    def _scan(self) -> None:
        import pyarrow.fs as pafs

        scopes = {}
        if self.root.exists(TOKEN_DIR):
            infos = self.root.fs.get_file_info(pafs.FileSelector(self.root.join(TOKEN_DIR)))
            for info in infos:
                if info.base_name.endswith(".json") and not info.base_name.startswith("."):
                    with self.root.fs.open_input_stream(info.path) as f:
                        scopes[info.base_name[:-5]] = _scope(json.loads(f.read()))
        self._scopes = scopes
        self._scanned = time.monotonic()

    def scope(self, metadata) -> Scope:
        """The scope of the bearer token in gRPC metadata ((key, value) pairs)."""
        token = None
        for key, value in metadata or ():
            if key.lower() == "authorization":
                token = value[7:].strip() if value[:7].lower() == "bearer " else None
        if not token:
            raise AuthError("missing bearer token: send metadata 'authorization: Bearer <token>'")
        digest = token_hash(token)
        scope = self._scopes.get(digest)
        if scope is None and time.monotonic() - self._scanned > _RESCAN_SECONDS:
            with self._lock:
                self._scan()
            scope = self._scopes.get(digest)
        if scope is None:
            raise AuthError("unknown bearer token")
        return scope
