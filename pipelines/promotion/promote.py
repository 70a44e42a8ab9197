"""`guidance promote`: make a registered version the one served, when its evaluation passes the
gates (pipelines/evaluation/gates.py), or when forced with a reason.

Promotion refuses a version that has no evaluation report, one evaluated while another version
was served than now (its comparison with the served version is stale: evaluate it again), and
one that fails a gate. A gate skipped for want of data (no truth tables, no version served yet)
does not block. `--force --reason TEXT` promotes regardless. Every promotion, forced or not, is
recorded as one JSON file under `registry/promotions/` (append-only: one file per event, never
rewritten): who, when, why, the version it replaced, and each gate's verdict.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipelines.errors import GuidanceError
from pipelines.evaluation.gates import GateConfig, Verdict, failed, judge
from pipelines.evaluation.results import has_result, read_result, report_dir
from pipelines.registry import store
from pipelines.storage.root import Root

LOG = "registry/promotions"


class PromotionError(GuidanceError):
    """A version may not be promoted: no evaluation, a stale one, or a failing gate."""


class PromoteConfig(BaseModel):
    """What to promote, and on what terms."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    root: str = Field(description="Root folder or URI holding the registry and the reports.")
    version: str | None = Field(None, description="Registry version (default: the newest "
                                                  "registered).")
    force: bool = Field(False, description="Promote even without a passing, fresh evaluation.")
    reason: str | None = Field(None, description="Why; required with force, recorded always.")
    gates: GateConfig = Field(default_factory=GateConfig,
                                    description="The gates' thresholds.")

    @model_validator(mode="after")
    def _forced_needs_a_reason(self) -> "PromoteConfig":
        if self.force and not (self.reason or "").strip():
            raise ValueError("a forced promotion needs a reason (--reason TEXT): it is recorded")
        return self


def _refusals(version: str, served: str | None, result: dict | None,
              verdicts: list[Verdict]) -> list[str]:
    """Why `version` may not be promoted without force (empty: it may)."""
    if result is None:
        return [f"it has no evaluation report ({report_dir(version)}/evaluation.json): run "
                f"`guidance evaluate --version {version}`"]
    if "gates" not in result:
        return [f"its evaluation report predates the gates: run "
                f"`guidance evaluate --version {version}` again"]
    out = []
    if result.get("current_version") != served:
        out.append(f"it was evaluated while {result.get('current_version') or 'no version'} was "
                   f"served, and {served or 'no version'} is served now: run "
                   f"`guidance evaluate --version {version}` again")
    bad = failed(verdicts)
    if bad:
        out.append("it fails " + "; ".join(f"{v.name} ({v.detail}; wants {v.description})"
                                           for v in bad))
    return out


def promote(cfg: PromoteConfig, by: str | None = None, now: dt.datetime | None = None) -> dict:
    """Make `cfg.version` (default: the newest registered) the version served, and return the
    promotion's record (also written to the log). Raises PromotionError when a check fails and
    `cfg.force` is off. `by` (default: the OS user) and `now` (default: the clock) are recorded."""
    root = Root(cfg.root)
    version = cfg.version or store.latest(root)
    store.load(root, version)  # complete and intact, or raise
    served = store.current_or_none(root)
    if served == version:
        return {"version": version, "previous": served, "promoted": False,
                "note": f"{version} is already the version served"}
    result = read_result(root, version) if has_result(root, version) else None
    verdicts = judge(result, cfg.gates) if result is not None and "gates" in result else []
    refusals = _refusals(version, served, result, verdicts)
    if refusals and not cfg.force:
        raise PromotionError(f"version {version} not promoted: " + "; ".join(refusals)
                             + " (or --force --reason TEXT, recorded)")
    at = now or dt.datetime.now(dt.timezone.utc)
    record = {
        "version": version, "previous": served, "promoted": True,
        "at": at.isoformat(timespec="seconds"), "by": by or _user(),
        "forced": bool(refusals), "reason": cfg.reason,
        "overridden": refusals,  # what a forced promotion went past
        "evaluation": report_dir(version) if result is not None else None,
        "evaluated_against": result.get("current_version") if result is not None else None,
        "gate_thresholds": cfg.gates.model_dump(mode="json"),
        "gates": [v.as_dict() for v in verdicts],
        "failed_gates": [v.name for v in failed(verdicts)],
        "skipped_gates": [v.name for v in verdicts if v.status == "skipped"],
    }
    # recorded first: a promotion that is not in the log must not happen
    _append(root, record, at)
    store.set_current(root, version)
    return record


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in this environment (a container)
        return "unknown"


def _append(root: Root, record: dict, at: dt.datetime) -> None:
    """One new file per promotion, named so the log lists in time order; never overwritten."""
    name = f"{at.strftime('%Y%m%dT%H%M%S.%fZ')}-{record['version']}.json"
    if root.exists(f"{LOG}/{name}"):
        raise PromotionError(f"promotion record {name} already exists")
    root.write_atomic(f"{LOG}/{name}", json.dumps(record, indent=2).encode())


def history(root: Root) -> list[dict]:
    """Every promotion recorded under the root, oldest first."""
    if not root.exists(LOG):
        return []
    from pyarrow.fs import FileSelector

    infos = root.fs.get_file_info(FileSelector(root.join(LOG)))
    out = []
    for info in sorted(infos, key=lambda i: i.base_name):
        if info.base_name.endswith(".json"):
            with root.fs.open_input_stream(info.path) as f:
                out.append(json.loads(f.read()))
    return out


def render(record: dict) -> str:
    """The line `guidance promote` prints."""
    if not record["promoted"]:
        return record["note"]
    previous = f"replacing {record['previous']}" if record["previous"] else "the first promoted"
    verdicts = record["gates"]
    judged = (f"{sum(v['status'] == 'pass' for v in verdicts)} gates passed, "
              f"{len(record['skipped_gates'])} skipped" if verdicts else "not evaluated")
    line = f"version {record['version']} promoted ({previous}; {judged})"
    if record["forced"]:
        line += (f"; FORCED by {record['by']}: {record['reason']!r}, past: "
                 + "; ".join(record["overridden"]))
    return line + "; `guidance serve` swaps to it within seconds"
