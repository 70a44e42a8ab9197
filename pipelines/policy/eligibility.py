"""Business rules: which candidates may be shown to an advertiser now, and how many more items a
surface may show today.

Everything is keyed on (campaign, item): a dismissal, snooze or adoption of an item on one
campaign says nothing about the same item on another campaign. Times are UTC epoch milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from pipelines.domain.actions import ACTION_TYPES
from pipelines.domain.catalog import ITEM_KEY_SCALE, item_keys
from pipelines.domain.vocabulary import DISMISS_REASONS
from pipelines.feedback.records import DAY_MS, FEEDBACK_TYPES
from pipelines.policy.config import PolicyConfig

# The one action meant for a paused campaign: everything else would change a campaign that is
# not delivering, so its effect could not show (and suggests the advertiser restart it blindly).
RESUME_ACTION = "hygiene_resume_paused"
# Actions whose (campaign, item) can be worth applying again (raise the budget another 10 %,
# refresh creatives again): the repeatable actions but those on one entity (adding a keyword,
# interest or product twice is not a second gain).
REPEATABLE_ACTIONS = tuple(sorted(a.name for a in ACTION_TYPES if a.repeatable and a.entity is None))
# Why a candidate is not eligible; when several rules apply the earliest listed wins.
REASONS = ("eligible", "campaign_paused", "resume_on_active", "one_shot_done", "applied",
           "dismissed", "snoozed", "recently_shown")


def pair_key(campaign_id: np.ndarray, item_id: np.ndarray) -> np.ndarray:
    """One int64 per (campaign, item): the catalog's item_keys, refusing item ids its scale
    cannot hold (products start at 10,000,000; campaign ids stay far below 2**63 / scale)."""
    item_id = np.asarray(item_id, np.int64)
    if len(item_id) and (item_id.min() < 0 or item_id.max() >= ITEM_KEY_SCALE):
        raise ValueError(f"item ids must lie in [0, {ITEM_KEY_SCALE}); got "
                         f"{item_id.min()}..{item_id.max()}")
    return item_keys(campaign_id, item_id)


def _aligned(obj, names: tuple[str, ...], dtypes: dict[str, object]) -> None:
    n = None
    for name in names:
        a = np.asarray(getattr(obj, name), dtype=dtypes.get(name))
        object.__setattr__(obj, name, a)
        if a.ndim != 1 or (n is not None and len(a) != n):
            expected = "a 1-d array" + ("" if n is None else f" of length {n}")
            raise ValueError(f"{type(obj).__name__}.{name}: expected {expected}, got shape "
                             f"{a.shape}")
        n = len(a)


def _in_vocabulary(values: np.ndarray, vocabulary: tuple[str, ...], where: str) -> None:
    known = np.array(sorted(vocabulary))
    pos = np.minimum(np.searchsorted(known, values), len(known) - 1)
    bad = known[pos] != values
    if bad.any():
        raise ValueError(f"{where} {values[bad][0]!r}: expected one of {', '.join(vocabulary)}")


@dataclass(frozen=True)
class CandidateSet:
    """One advertiser's candidates, one row per (campaign, item), as aligned arrays."""

    campaign_id: np.ndarray  # int64
    item_id: np.ndarray  # int64, catalog item
    action_type: np.ndarray  # str, taxonomy action type name
    category: np.ndarray  # str, taxonomy category
    campaign_active: np.ndarray  # bool: False when the campaign is paused
    one_shot_done: np.ndarray  # bool: a one-shot action (e.g. install tracking) already applied

    def __post_init__(self) -> None:
        _aligned(self, tuple(f.name for f in fields(self)),
                 {"campaign_id": np.int64, "item_id": np.int64, "action_type": str,
                  "category": str, "campaign_active": bool, "one_shot_done": bool})

    def __len__(self) -> int:
        return len(self.campaign_id)


_IMPRESSION = ("impression_campaign_id", "impression_item_id", "impression_surface",
               "impression_served_at_ms")
_FEEDBACK = ("feedback_campaign_id", "feedback_item_id", "feedback_action_type",
             "feedback_type", "feedback_dismiss_reason", "feedback_snooze_days",
             "feedback_occurred_at_ms")
_DTYPES = {"impression_campaign_id": np.int64, "impression_item_id": np.int64,
           "impression_surface": str, "impression_served_at_ms": np.int64,
           "feedback_campaign_id": np.int64, "feedback_item_id": np.int64,
           "feedback_action_type": str, "feedback_type": str, "feedback_dismiss_reason": str,
           "feedback_snooze_days": np.int64, "feedback_occurred_at_ms": np.int64}


@dataclass(frozen=True)
class History:
    """One advertiser's recent log: items served (one row each) and feedback events.

    `feedback_type` is one of FEEDBACK_TYPES; `feedback_dismiss_reason` is one of
    taxonomy.DISMISS_REASONS for a dismissal ('' counts as 'other') and '' otherwise;
    `feedback_snooze_days` is the snooze asked for (0: the configured default).
    """

    impression_campaign_id: np.ndarray
    impression_item_id: np.ndarray
    impression_surface: np.ndarray
    impression_served_at_ms: np.ndarray
    feedback_campaign_id: np.ndarray
    feedback_item_id: np.ndarray
    feedback_action_type: np.ndarray
    feedback_type: np.ndarray
    feedback_dismiss_reason: np.ndarray
    feedback_snooze_days: np.ndarray
    feedback_occurred_at_ms: np.ndarray

    def __post_init__(self) -> None:
        _aligned(self, _IMPRESSION, _DTYPES)
        _aligned(self, _FEEDBACK, _DTYPES)
        _in_vocabulary(self.feedback_type, FEEDBACK_TYPES, "History.feedback_type")
        _in_vocabulary(self.feedback_dismiss_reason, ("",) + DISMISS_REASONS,
                       "History.feedback_dismiss_reason")

    @classmethod
    def empty(cls) -> "History":
        """A history with no impressions and no feedback."""
        return cls(**{name: np.zeros(0, _DTYPES[name]) for name in _IMPRESSION + _FEEDBACK})


_REASON_CODE = {r: i for i, r in enumerate(REASONS)}
_DISMISS_SORTED = np.array(sorted(("",) + DISMISS_REASONS))  # '' counts as 'other'


def applied_cooldown_days(action_type: np.ndarray, cfg: PolicyConfig) -> np.ndarray:
    """Days an applied (campaign, item) of each action type stays hidden."""
    return np.where(np.isin(np.asarray(action_type, str), REPEATABLE_ACTIONS),
                    cfg.applied_repeatable_cooldown_days, cfg.applied_cooldown_days)


def _blocking(history: History, now_ms: int, cfg: PolicyConfig) -> tuple[np.ndarray, np.ndarray]:
    """The (campaign, item) keys the history blocks at `now_ms`, sorted and unique, each with the
    REASONS code of the earliest rule that blocks it."""
    kind = history.feedback_type
    days = np.full(len(kind), -np.inf)  # how long each event blocks its key; -inf: not at all
    code = np.zeros(len(kind), np.int8)
    dismissed = kind == "dismissed"
    cooldown = np.array([cfg.cooldown_days(r) for r in _DISMISS_SORTED], float)
    reason = history.feedback_dismiss_reason[dismissed]
    days[dismissed] = cooldown[np.searchsorted(_DISMISS_SORTED, reason)]
    code[dismissed] = _REASON_CODE["dismissed"]
    snoozed = kind == "snoozed"
    asked = history.feedback_snooze_days[snoozed]
    days[snoozed] = np.minimum(np.where(asked > 0, asked, cfg.default_snooze_days),
                               cfg.max_snooze_days)
    code[snoozed] = _REASON_CODE["snoozed"]
    applied = kind == "applied"
    days[applied] = applied_cooldown_days(history.feedback_action_type[applied], cfg)
    code[applied] = _REASON_CODE["applied"]
    # float ms are exact here: epoch ms and whole days stay far below 2**53
    active = history.feedback_occurred_at_ms + days * DAY_MS > now_ms
    recent = history.impression_served_at_ms > now_ms - cfg.reshow_after_days * DAY_MS
    keys = np.concatenate([
        pair_key(history.feedback_campaign_id[active], history.feedback_item_id[active]),
        pair_key(history.impression_campaign_id[recent], history.impression_item_id[recent])])
    codes = np.concatenate([code[active],
                            np.full(recent.sum(), _REASON_CODE["recently_shown"], np.int8)])
    order = np.lexsort((codes, keys))
    keys, codes = keys[order], codes[order]
    first = np.ones(len(keys), bool)
    first[1:] = keys[1:] != keys[:-1]
    return keys[first], codes[first]


def eligible(candidates: CandidateSet, history: History, surface: str, now_ms: int,
             cfg: PolicyConfig) -> tuple[np.ndarray, np.ndarray]:
    """Which candidates may be shown on `surface` at `now_ms`.

    Returns (mask, reasons): mask[i] is True when candidate i may be shown; reasons[i] is the
    first rule of REASONS that blocks it ('eligible' when none). The frequency cap is not a
    per-item rule: see remaining_slots.
    """
    cfg.surface(surface)  # rejects an unknown surface; the item rules are the same everywhere
    key = pair_key(candidates.campaign_id, candidates.item_id)
    blocked_keys, blocked_codes = _blocking(history, now_ms, cfg)
    code = np.zeros(len(key), np.int8)
    if len(blocked_keys):
        pos = np.minimum(np.searchsorted(blocked_keys, key), len(blocked_keys) - 1)
        code = np.where(blocked_keys[pos] == key, blocked_codes[pos], code)
    is_resume = candidates.action_type == RESUME_ACTION
    for rule, hit in (("one_shot_done", candidates.one_shot_done),  # the earliest rule last
                      ("resume_on_active", candidates.campaign_active & is_resume),
                      ("campaign_paused", ~candidates.campaign_active & ~is_resume)):
        code[hit] = _REASON_CODE[rule]
    return code == 0, np.asarray(REASONS)[code]


def remaining_slots(history: History, surface: str, now_ms: int, cfg: PolicyConfig) -> int:
    """How many more items `surface` may show this advertiser today (UTC): the surface's daily
    cap minus the items already served on it since midnight, never below 0."""
    cap = cfg.surface(surface).daily_cap
    today = (history.impression_surface == surface) & (
        history.impression_served_at_ms // DAY_MS == now_ms // DAY_MS)
    return max(cap - int(today.sum()), 0)
