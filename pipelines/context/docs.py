"""docs/signals.md, generated from the registry (`python -m pipelines.context.docs`)."""

from __future__ import annotations

from pipelines.context.compute import signals
from pipelines.context.registry import GROUPS


def registry_rows() -> list[dict]:
    """Every signal's metadata, in registry order."""
    return [{"name": s.name, "group": s.group, "level": s.level, "type": s.kind, "unit": s.unit,
             "description": s.description} for s in signals()]


def render(rows: list[dict]) -> str:
    """`guidance signals` for people: one line per signal (group, name, level, type, what)."""
    return "\n".join(f"{r['group']:<12}{r['name']:<36}{r['level']:<11}{r['type']:<9}"
                     f"{r['description']}" for r in rows)


def markdown() -> str:
    rows = registry_rows()
    out = ["# Signals", "",
           "Generated from the registry in `pipelines/context/signals/` by "
           "`python -m pipelines.context.docs`; do not edit by hand. Every signal is computed as "
           "of the start of a day from data strictly before it, by the same function offline "
           "(`guidance prepare`) and online (`guidance context show`).", "",
           f"{len(rows)} signals.", ""]
    for g in GROUPS:
        group = [r for r in rows if r["group"] == g]
        out += [f"## {g} ({len(group)})", "", "| signal | level | type | unit | description |",
                "| --- | --- | --- | --- | --- |"]
        out += [f"| `{r['name']}` | {r['level']} | {r['type']} | {r['unit']} | {r['description']} |"
                for r in group]
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown(), end="")
