"""Code and data versions recorded in manifests."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]


def code_version() -> dict[str, str | bool | None]:
    """A hash of the pipelines' source files, plus the git commit when there is one."""
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        digest.update(str(path.relative_to(_PACKAGE)).encode())
        digest.update(path.read_bytes())
    commit, dirty = None, None
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=_PACKAGE, text=True,
                                capture_output=True, check=True, timeout=5).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--", str(_PACKAGE)],
                                    cwd=_PACKAGE, text=True, capture_output=True, check=True,
                                    timeout=5).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return {"source_sha256": digest.hexdigest()[:16], "git_commit": commit, "git_dirty": dirty}


def timestamp_version(now: dt.datetime | None = None) -> str:
    """A sortable version name such as 20261124T120501Z."""
    return (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
