"""The promotion gates, defined once: evaluation writes each gate's verdict into its report, and
`guidance promote` judges the same table again (with its own thresholds) before it makes a
version current.

A gate whose figure cannot be computed (no truth tables under the root, no version served yet,
no measured impact) is `skipped` with the reason, and does not block promotion.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Status = Literal["pass", "fail", "skipped"]


class GateConfig(BaseModel):
    """The gates' thresholds. The defaults are the product's; a test world too small for them
    states its own (and a promotion records the thresholds it was judged by)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_ece_after: float = Field(0.02, ge=0, le=1, description="Highest expected calibration "
                                 "error of P(adopt) after calibration (test split, 15 bins).")
    min_interval_coverage: float = Field(0.75, ge=0, le=1, description="Lowest share of "
                                         "realised impacts inside the 10–90 % interval.")
    max_interval_coverage: float = Field(0.85, ge=0, le=1, description="Highest such share "
                                         "(an interval that covers more is too wide).")
    min_index_recall_at_100: float = Field(0.95, ge=0, le=1, description="Lowest recall@100 "
                                           "of the item index against exact search.")
    auc_margin_vs_current: float = Field(0.005, ge=0, le=1, description="How far the adoption "
                                         "AUC may fall below the served version's on the same "
                                         "test split.")
    auc_margin_vs_lightgbm: float = Field(0.01, ge=0, le=1, description="How far the adoption "
                                          "AUC may fall below LightGBM's (seed 0).")
    disabled: tuple[str, ...] = Field((), description="Gates not judged (reported as skipped), "
                                      "for a world too small to measure them.")

    @model_validator(mode="after")
    def _check(self) -> "GateConfig":
        if self.min_interval_coverage > self.max_interval_coverage:
            raise ValueError(f"min_interval_coverage {self.min_interval_coverage} is above "
                             f"max_interval_coverage {self.max_interval_coverage}")
        unknown = sorted(set(self.disabled) - {g.name for g in GATES})
        if unknown:
            raise ValueError(f"unknown gate(s) in disabled: {', '.join(unknown)}; gates are "
                             f"{', '.join(g.name for g in GATES)}")
        return self


@dataclass(frozen=True)
class Verdict:
    """One gate's verdict on one evaluation."""

    name: str
    description: str  # what passes, with the thresholds it was judged by
    status: Status
    value: float | None  # the figure judged (None when skipped)
    detail: str  # the figures compared, or why the gate was skipped

    def as_dict(self) -> dict:
        return asdict(self)


# A check reads an evaluation result: (status, the figure judged, the comparison in words).
Check = Callable[[dict, GateConfig], tuple[Status, float | None, str]]


@dataclass(frozen=True)
class Gate:
    name: str
    description: str  # a template filled from GateConfig's fields
    check: Check


def _skip(why: str) -> tuple[Status, None, str]:
    return "skipped", None, why


def _verdict(ok: bool, value: float, detail: str) -> tuple[Status, float, str]:
    return ("pass" if ok else "fail"), value, detail


def _ece(result: dict, cfg: GateConfig):
    ece = result["calibration"]["ece_after"]
    if ece is None:
        return _skip("no test rows")
    return _verdict(ece <= cfg.max_ece_after, ece, f"ECE {ece:.4f}")


def _coverage(result: dict, cfg: GateConfig):
    cov = result["impact"]["interval_coverage"]
    if cov is None:
        return _skip("no validation adoption with a measured impact to judge the interval on")
    return _verdict(cfg.min_interval_coverage <= cov <= cfg.max_interval_coverage, cov,
                    f"coverage {cov:.3f} of {result['impact']['rows']} adoptions")


def _ndcg(result: dict, cfg: GateConfig):
    nd = result["ordering"]["ndcg_vs_oracle"]
    if nd is None:
        return _skip(result.get("skipped", {}).get("ndcg_vs_oracle", "no oracle relevance"))
    if None in nd.values():
        return _skip("no slate of two items or more with an item worth anything to order")
    best = max(nd["logging_rules"], nd["popularity"])
    return _verdict(nd["ranker"] > best, nd["ranker"],
                    f"NDCG ranker {nd['ranker']:.4f}, logging rules {nd['logging_rules']:.4f}, "
                    f"popularity {nd['popularity']:.4f}")


def _index(result: dict, cfg: GateConfig):
    recall = result["index"]["recall_at_100"]
    return _verdict(recall >= cfg.min_index_recall_at_100, recall,
                    f"recall@100 {recall:.4f} ({result['index']['kind']} index)")


def _auc_vs(key: str, margin: str, label: str) -> Check:
    def check(result: dict, cfg: GateConfig):
        r = result["ranking"]
        other = r[key]
        if other is None:
            return _skip(result.get("skipped", {}).get(key, f"no AUC of {label}"))
        if r["adoption_auc"] is None:
            return _skip("the test split has one class only: no AUC")
        floor = other - getattr(cfg, margin)
        return _verdict(r["adoption_auc"] >= floor, r["adoption_auc"],
                        f"AUC {r['adoption_auc']:.4f} against {label}'s {other:.4f} "
                        f"(at least {floor:.4f})")
    return check


GATES: tuple[Gate, ...] = (
    Gate("ece_after_calibration", "ECE of P(adopt) after calibration ≤ {max_ece_after}", _ece),
    Gate("impact_interval_coverage", "impact interval coverage within "
         "{min_interval_coverage}–{max_interval_coverage}", _coverage),
    Gate("slate_ndcg_beats_rules_and_popularity", "slate NDCG against the oracle: the ranker "
         "above the logging rules and popularity", _ndcg),
    Gate("index_recall_at_100", "index recall@100 ≥ {min_index_recall_at_100}", _index),
    Gate("adoption_auc_vs_current", "adoption AUC ≥ the served version's − "
         "{auc_margin_vs_current}, on the same test split",
         _auc_vs("current_adoption_auc", "auc_margin_vs_current", "the served version")),
    Gate("adoption_auc_vs_lightgbm", "adoption AUC ≥ LightGBM's − {auc_margin_vs_lightgbm}",
         _auc_vs("gbdt_adoption_auc", "auc_margin_vs_lightgbm", "LightGBM")),
)


def judge(result: dict, cfg: GateConfig | None = None) -> list[Verdict]:
    """Every gate's verdict on an evaluation result (evaluation.json), in GATES' order."""
    cfg = cfg or GateConfig()
    out = []
    for gate in GATES:
        if gate.name in cfg.disabled:
            status, value, detail = _skip("disabled by the gate configuration")
        else:
            status, value, detail = gate.check(result, cfg)
        out.append(Verdict(gate.name, gate.description.format(**cfg.model_dump()), status,
                           value, detail))
    return out


def failed(verdicts: list[Verdict]) -> list[Verdict]:
    """The verdicts that block a promotion."""
    return [v for v in verdicts if v.status == "fail"]
