"""Where an evaluation's files lie, and reading its evaluation.json back (what promotion and the
benchmarks read; report.py writes them)."""

from __future__ import annotations

import json

from pipelines.storage.root import Root


def report_dir(version: str) -> str:
    """Where a model version's report lies, relative to the root."""
    return f"reports/evaluation/{version}"


def has_result(root: Root, version: str) -> bool:
    """Whether a model version has been evaluated (its report is published)."""
    return root.is_published(report_dir(version))


def read_result(root: Root, version: str) -> dict:
    """The evaluation.json that `report.write_report` published for a model version."""
    root.require(report_dir(version), f"model version {version!r} has not been evaluated: run "
                 "`guidance evaluate`")
    return json.loads(root.read_text(f"{report_dir(version)}/evaluation.json"))
