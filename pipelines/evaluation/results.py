"""Where an evaluation's files lie, and reading its evaluation.json back (what promotion and the
benchmarks read; report.py writes them)."""

from __future__ import annotations

import json

from pipelines.storage.root import Root


def report_dir(version: str) -> str:
    """Where a model version's report lies, relative to the root."""
    return f"reports/evaluation/{version}"


def has_result(root: Root, version: str) -> bool:
    """Whether a model version has been evaluated (its evaluation.json exists)."""
    return root.exists(f"{report_dir(version)}/evaluation.json")


def read_result(root: Root, version: str) -> dict:
    """The evaluation.json that `report.write_report` published for a model version."""
    with root.fs.open_input_stream(root.join(report_dir(version), "evaluation.json")) as f:
        return json.loads(f.read())
