"""The account brief: for each advertiser, the few signals that matter now, ranked.

Every numeric signal of the account (advertiser level) and of each of its campaigns (campaign
level) is scored for how unusual it is, on two axes measured in the same unit, normal scores
against the population (`pipelines.brief.reference`):

- against its peers: `peer_z`, the value's normal score among every account (or campaign);
- against its own past: `own_z`, how far it moved through that distribution since the same
  signal `past_days` (28) earlier, computed by the same functions as of that day.

Unusualness is their Euclidean norm, a missing value counting as 0 (NaN is never unusual). A
signal is tied to guidance when `supports(action_type, category, signal, value)` (the reasons'
rule, `pipelines.candidates.reasons.supports`) says its value argues for an action available to
the account: for a campaign-level signal, an action that applies to that campaign; for an
advertiser-level signal, to any of its campaigns. The score is unusualness × (1 + tie_weight) for
a tied signal, unusualness otherwise; items are taken greedily by score, one per signal, while
the words of their lines fit the budget. The baseline `extreme_signals_brief` takes the five
most unusual signals by the same rules and no tie.

Everything here is a pure function of signal tables, so the offline job (every account) and the
online answer (one account) are the same code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from pipelines.brief.reference import Reference, as_float, numeric_signals
from pipelines.candidates.observed import entity_ok, generic, observe
from pipelines.context.online import advertiser_of_campaigns
from pipelines.context.registry import SIGNALS_BY_NAME, money
from pipelines.domain.actions import ACTION_INDEX, ACTION_TYPES
from pipelines.domain.catalog import GENERIC_ACTION
from pipelines.domain.vocabulary import CATEGORIES
from pipelines.errors import DataError

# (action type, category, signal, value) → whether the value argues for the action
Supports = Callable[[str, str, str, object], bool]

ENTITY_ACTIONS = tuple(i for i, a in enumerate(ACTION_TYPES) if a.entity is not None)
LEVEL_ORDER = {"advertiser": 0, "campaign": 1}
_SIGNAL_ORDER = {name: i for i, name in enumerate(SIGNALS_BY_NAME)}


class BriefConfig(BaseModel):
    """How a brief is chosen and how long it may be."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    words: int = Field(400, ge=20, le=5000, description="Word budget of the items' lines.")
    max_items: int = Field(8, ge=1, le=50, description="Most items in a brief.")
    baseline_items: int = Field(5, ge=1, le=50, description="Items of the extreme-signals "
                                                            "baseline.")
    min_unusualness: float = Field(1.0, ge=0, description="Least unusualness (normal-score "
                                   "units) of a listed signal.")
    tie_weight: float = Field(1.0, ge=0, description="Score bonus of a signal tied to an "
                              "available action: score = unusualness × (1 + tie_weight).")
    past_days: int = Field(28, ge=1, le=365, description="Days back of the own-past value.")
    reference_points: int = Field(201, ge=3, le=10_001, description="Quantiles per signal in "
                                  "the peer reference.")
    min_peers: int = Field(20, ge=1, description="Least known values in the population for a "
                           "signal to have a peer reference.")


DEFAULT_CONFIG = BriefConfig()


@dataclass(frozen=True)
class AccountSignals:
    """Signals of a set of accounts as of a day and `past_days` before it, row-aligned:
    `advertisers` (advertiser_id and advertiser-level signals) sorted by advertiser id;
    `campaigns` (advertiser_id, campaign_id, status and campaign-level signals) sorted by
    (advertiser id, campaign id); the `*_past` tables hold the same rows as of the past day."""

    advertisers: pd.DataFrame
    advertisers_past: pd.DataFrame
    campaigns: pd.DataFrame
    campaigns_past: pd.DataFrame

    def __post_init__(self):
        ids = self.advertisers.advertiser_id.to_numpy(np.int64)
        if len(ids) and np.any(np.diff(ids) <= 0):
            raise DataError("advertisers: advertiser_id must be unique and ascending")
        if not np.array_equal(ids, self.advertisers_past.advertiser_id.to_numpy(np.int64)):
            raise DataError("advertisers_past: advertiser_id must match advertisers row by row")
        key = self.campaigns[["advertiser_id", "campaign_id"]].to_numpy(np.int64)
        if not np.array_equal(key, self.campaigns_past[["advertiser_id", "campaign_id"]]
                              .to_numpy(np.int64)):
            raise DataError("campaigns_past: (advertiser_id, campaign_id) must match campaigns "
                            "row by row")
        a, c = key[:, 0], key[:, 1]
        if len(key) and not np.all((a[1:] > a[:-1]) | ((a[1:] == a[:-1]) & (c[1:] > c[:-1]))):
            raise DataError("campaigns: rows must be unique and sorted by (advertiser_id, "
                            "campaign_id)")
        if not np.isin(key[:, 0], ids).all():
            raise DataError("campaigns: every advertiser_id must be in advertisers")

    def campaign_advertiser_rows(self) -> np.ndarray:
        """The advertiser row of each campaign row."""
        return np.searchsorted(self.advertisers.advertiser_id.to_numpy(np.int64),
                               self.campaigns.advertiser_id.to_numpy(np.int64))


@dataclass(frozen=True)
class BriefItem:
    """One signal of a brief, with its numbers. `peer_share` is the value's mid-rank share of
    the population (0-1); `peer_z` its normal score; `own_z` the normal-score move since the
    past day; `own_change` = value − past_value in `unit`."""

    signal: str
    level: str
    campaign_id: int | None
    value: float | int  # int for an int signal
    unit: str
    past_value: float | int | None
    own_change: float | None
    peer_share: float | None
    peer_z: float | None
    own_z: float | None
    unusualness: float
    score: float
    sentence: str
    line: str
    bears_on: tuple[str, ...]
    categories: tuple[str, ...]


@dataclass(frozen=True)
class Brief:
    """One account's brief: `kind` "guided" (ranked with ties) or "extreme" (the baseline);
    `words` counts the words of the items' lines; `snapshot` names the peer reference's
    snapshot; the guidance score (0-100) and the top recommendations (dicts with at least a
    title) are the caller's, when it has them."""

    advertiser_id: int
    as_of: str
    kind: str
    items: tuple[BriefItem, ...]
    words: int
    snapshot: str = ""
    guidance_score: float | None = None
    recommendations: tuple[Mapping, ...] = ()

    def to_dict(self) -> dict:
        """JSON-ready: missing numbers as None."""
        out = dataclasses.asdict(self)
        out["items"] = [{k: _json(v) for k, v in it.items()} for it in out["items"]]
        out["recommendations"] = [dict(r) for r in self.recommendations]
        return out


def _json(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return list(v) if isinstance(v, tuple) else v


def with_guidance(brief: Brief, guidance_score: float | None,
                  recommendations: Sequence[Mapping] = ()) -> Brief:
    """The brief with the service's guidance score and top recommendations added."""
    return dataclasses.replace(brief, guidance_score=guidance_score,
                               recommendations=tuple(recommendations))


# ------------------------------------------------------------------------------- unusualness

def unusual(sig: AccountSignals, ref: Reference) -> pd.DataFrame:
    """Every known numeric signal value of every account and campaign, one row each, with
    `adv_row`, `camp_row` (-1 at advertiser level), `signal`, `level`, `value`, `past_value`,
    `peer_share`, `peer_z`, `own_z` and `unusualness` = hypot(peer_z, own_z), missing as 0."""
    parts = []
    adv_of_camp = sig.campaign_advertiser_rows()
    for level, now, past, adv_row in (
            ("advertiser", sig.advertisers, sig.advertisers_past,
             np.arange(len(sig.advertisers))),
            ("campaign", sig.campaigns, sig.campaigns_past, adv_of_camp)):
        camp_row = np.full(len(now), -1) if level == "advertiser" else np.arange(len(now))
        for s in numeric_signals(level):
            if s.name not in now.columns:
                continue
            value = as_float(now[s.name])
            past_value = (as_float(past[s.name]) if s.name in past.columns
                          else np.full(len(now), np.nan))
            share, z = ref.scores(s.name, value)
            _, z_past = ref.scores(s.name, past_value)
            own = z - z_past
            u = np.hypot(np.nan_to_num(z), np.nan_to_num(own))
            known = np.isfinite(value)
            parts.append(pd.DataFrame({
                "adv_row": adv_row[known], "camp_row": camp_row[known], "signal": s.name,
                "level": level, "value": value[known], "past_value": past_value[known],
                "peer_share": share[known], "peer_z": z[known], "own_z": own[known],
                "unusualness": u[known]}))
    cols = ["adv_row", "camp_row", "signal", "level", "value", "past_value", "peer_share",
            "peer_z", "own_z", "unusualness"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)


# ------------------------------------------------------------------------------- guidance

def available_actions(sig: AccountSignals, day: dt.date) -> np.ndarray:
    """[campaign row, action type] whether the action applies to the campaign on `day`: the
    platform's applicability rule on the observed facts, as the service finds candidates (its
    generic items, and the entity actions — keywords, interests, products — its retrieval may
    add)."""
    camp = sig.campaigns
    out = np.zeros((len(camp), len(ACTION_TYPES)), dtype=bool)
    if camp.empty:
        return out
    adv = advertiser_of_campaigns(sig.advertisers, camp)
    obs = observe(camp, adv)
    has_catalog = pd.array(adv.has_product_catalog, dtype="boolean").fillna(False).to_numpy(bool)
    rows, items = generic(obs, has_catalog, day)
    out[rows, GENERIC_ACTION[items]] = True
    every = np.arange(len(camp))
    for a in ENTITY_ACTIONS:
        out[:, a] |= entity_ok(obs, every, np.full(len(camp), a), has_catalog)
    return out


def action_matrix(names: Sequence[Sequence[str]]) -> np.ndarray:
    """[campaign row, action type] from the action type names available to each campaign."""
    out = np.zeros((len(names), len(ACTION_TYPES)), dtype=bool)
    for row, row_names in enumerate(names):
        for name in row_names:
            if name not in ACTION_INDEX:
                raise DataError(f"action type {name!r} is not in the catalog of action types")
            out[row, ACTION_INDEX[name]] = True
    return out


def _python(signal: str, value: float):
    return int(round(value)) if SIGNALS_BY_NAME[signal].kind == "int" else float(value)


def ties(signal: str, value: float, available: np.ndarray, supports: Supports
         ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(action types, categories) among the `available` ones (indices into ACTION_TYPES) that
    the signal's value argues for, in catalog order."""
    v = _python(signal, value)
    bears = tuple(ACTION_TYPES[a].name for a in available
                  if supports(ACTION_TYPES[a].name, ACTION_TYPES[a].category, signal, v))
    cats = {ACTION_TYPES[ACTION_INDEX[b]].category for b in bears}
    return bears, tuple(c for c in CATEGORIES if c in cats)


# ------------------------------------------------------------------------------- words

def format_value(value: float, unit: str) -> str:
    """A value with its unit, short ("$1,204", "12 %", "+35 %", "1.42×", "9 days")."""
    v = float(value)
    if unit == "$":
        return money(v)
    if unit == "$/day":
        return f"{money(v)}/day"
    if unit == "share":
        return f"{v * 100:.1f} %" if abs(v) < 0.1 else f"{v * 100:.0f} %"
    if unit == "change":
        return f"{v * 100:+.0f} %"
    if unit in ("ratio", "index"):
        return f"{v:.2f}×"
    if unit == "hour":
        return f"{v:.0f}:00"
    if unit == "0-1":
        return f"{v:.2f}"
    if unit == "days":
        return f"{v:,.0f} day{'' if round(v) == 1 else 's'}"
    return f"{v:,.0f}" if abs(v) >= 10 or v == round(v) else f"{v:.2g}"


def _line(signal: str, level: str, campaign_id: int | None, value: float,
          past_value: float, share: float, categories: tuple[str, ...], past_days: int) -> str:
    s = SIGNALS_BY_NAME[signal]
    sentence = s.explain(_python(signal, value))
    text = (f"Campaign {campaign_id}: {sentence}" if campaign_id is not None
            else sentence[:1].upper() + sentence[1:])
    numbers = []
    if math.isfinite(past_value):
        numbers.append(f"{past_days} days ago: {format_value(past_value, s.unit)}")
    if math.isfinite(share):
        numbers.append(f"percentile {share * 100:.0f} of "
                       f"{'campaigns' if level == 'campaign' else 'accounts'}")
    if numbers:
        text += f" ({'; '.join(numbers)})"
    if categories:
        text += f" → {', '.join(c.replace('_', ' ') for c in categories)}"
    return text + "."


def words(text: str) -> int:
    """Words of a text: its whitespace-separated tokens."""
    return len(text.split())


# ------------------------------------------------------------------------------- selection

def _none(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _choose(rows: pd.DataFrame, sig: AccountSignals, actions: np.ndarray,
            account_actions: np.ndarray, supports: Supports, cfg: BriefConfig, guided: bool,
            limit: int) -> tuple[list[BriefItem], int]:
    """The items of one account's candidate rows (already at least min_unusualness)."""
    camp_ids = sig.campaigns.campaign_id.to_numpy(np.int64)
    cands = []
    for r in rows.itertuples(index=False):
        avail = np.flatnonzero(actions[r.camp_row] if r.camp_row >= 0 else account_actions)
        bears, cats = ties(r.signal, r.value, avail, supports) if guided else ((), ())
        score = r.unusualness * (1 + cfg.tie_weight * bool(bears))
        cid = int(camp_ids[r.camp_row]) if r.camp_row >= 0 else None
        cands.append((-score, -r.unusualness, LEVEL_ORDER[r.level], _SIGNAL_ORDER[r.signal],
                      -1 if cid is None else cid, score, r, bears, cats))
    cands.sort(key=lambda c: c[:5])
    items, used, seen = [], 0, set()
    for *_, score, r, bears, cats in cands:
        if len(items) == limit:
            break
        if r.signal in seen:
            continue
        if not guided:
            avail = np.flatnonzero(actions[r.camp_row] if r.camp_row >= 0 else account_actions)
            bears, cats = ties(r.signal, r.value, avail, supports)
        cid = int(camp_ids[r.camp_row]) if r.camp_row >= 0 else None
        line = _line(r.signal, r.level, cid, r.value, r.past_value, r.peer_share, cats,
                     cfg.past_days)
        n = words(line)
        if used + n > cfg.words:
            continue
        seen.add(r.signal)
        used += n
        value = _python(r.signal, r.value)
        past = _none(r.past_value)
        items.append(BriefItem(
            signal=r.signal, level=r.level, campaign_id=cid, value=value,
            unit=SIGNALS_BY_NAME[r.signal].unit,
            past_value=None if past is None else _python(r.signal, past),
            own_change=None if past is None else float(r.value - r.past_value),
            peer_share=_none(r.peer_share), peer_z=_none(r.peer_z), own_z=_none(r.own_z),
            unusualness=float(r.unusualness), score=float(score),
            sentence=SIGNALS_BY_NAME[r.signal].explain(value), line=line, bears_on=bears,
            categories=cats))
    return items, used


def briefs(sig: AccountSignals, ref: Reference, actions: np.ndarray, as_of: dt.date,
           supports: Supports, cfg: BriefConfig = DEFAULT_CONFIG, baseline: bool = False,
           snapshot: str = "") -> list[Brief]:
    """One brief per account of `sig`, in advertiser order. `actions`: [campaign row, action
    type] availability (`available_actions`). With `baseline`, the extreme-signals brief:
    ranked by unusualness alone, `cfg.baseline_items` long (its items still say what they bear
    on, for comparison)."""
    if actions.shape != (len(sig.campaigns), len(ACTION_TYPES)):
        raise DataError(f"actions: expected shape ({len(sig.campaigns)}, {len(ACTION_TYPES)}), "
                        f"got {actions.shape}")
    cand = unusual(sig, ref)
    cand = cand[cand.unusualness >= cfg.min_unusualness].sort_values("adv_row", kind="stable")
    n_adv = len(sig.advertisers)
    account_actions = np.zeros((n_adv, len(ACTION_TYPES)), dtype=bool)
    np.logical_or.at(account_actions, sig.campaign_advertiser_rows(), actions)
    bounds = np.searchsorted(cand.adv_row.to_numpy(), np.arange(n_adv + 1))
    out = []
    for i, adv_id in enumerate(sig.advertisers.advertiser_id.to_numpy(np.int64)):
        rows = cand.iloc[bounds[i]:bounds[i + 1]]
        items, used = _choose(rows, sig, actions, account_actions[i], supports, cfg,
                              guided=not baseline,
                              limit=cfg.baseline_items if baseline else cfg.max_items)
        out.append(Brief(int(adv_id), as_of.isoformat(), "extreme" if baseline else "guided",
                         tuple(items), used, snapshot))
    return out


def brief(sig: AccountSignals, ref: Reference, actions: np.ndarray, as_of: dt.date,
          supports: Supports, cfg: BriefConfig = DEFAULT_CONFIG,
          guidance_score: float | None = None, recommendations: Sequence[Mapping] = ()
          ) -> Brief:
    """The brief of the one account in `sig`, with the caller's guidance score and top
    recommendations when given."""
    if len(sig.advertisers) != 1:
        raise DataError(f"brief: expected the signals of one advertiser, got "
                        f"{len(sig.advertisers)}")
    return with_guidance(briefs(sig, ref, actions, as_of, supports, cfg)[0], guidance_score,
                         recommendations)


def extreme_signals_brief(sig: AccountSignals, ref: Reference, actions: np.ndarray,
                          as_of: dt.date, supports: Supports, cfg: BriefConfig = DEFAULT_CONFIG
                          ) -> Brief:
    """The baseline of the one account in `sig`: its `cfg.baseline_items` most unusual signals,
    whatever guidance they bear on (which is still recorded, to compare)."""
    if len(sig.advertisers) != 1:
        raise DataError(f"extreme_signals_brief: expected the signals of one advertiser, got "
                        f"{len(sig.advertisers)}")
    return briefs(sig, ref, actions, as_of, supports, cfg, baseline=True)[0]


# ------------------------------------------------------------------------------- people

def render(b: Brief) -> str:
    """The brief for a person: a header, the guidance score and top recommendations when
    given, and one numbered line per item."""
    n = len(b.items)
    head = f"Advertiser {b.advertiser_id} as of {b.as_of}: "
    head += (f"{n} signal{'s' if n != 1 else ''} that matter{'' if n != 1 else 's'} now."
             if n else "nothing stands out against its own past or its peers.")
    lines = [head]
    if b.guidance_score is not None:
        lines.append(f"Guidance score {b.guidance_score:.0f} of 100.")
    if b.recommendations:
        recs = [f"{i}. {r.get('title', r.get('action_type', '?'))}"
                + (f" (campaign {r['campaign_id']})" if r.get("campaign_id") else "")
                for i, r in enumerate(b.recommendations, start=1)]
        lines.append("Top recommendations: " + "; ".join(recs) + ".")
    lines += [f"{rank}. {it.line}" for rank, it in enumerate(b.items, start=1)]
    return "\n".join(lines)
