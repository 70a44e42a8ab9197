"""What the platform's guidance log remembers of a block's slates and answers, kept as the
policy's History so that the world applies the service's own business rules
(pipelines.policy.eligibility) to every session of a day at once.

Campaign ids are unique across advertisers, and every rule is keyed on (campaign, item), so one
History for the whole block gives each advertiser the answer their own history would.
"""

from __future__ import annotations

import numpy as np

from pipelines.policy.config import PolicyConfig
from pipelines.policy.eligibility import DAY_MS, History

_IMPRESSION = ("impression_campaign_id", "impression_item_id", "impression_surface",
               "impression_served_at_ms")
_FEEDBACK = ("feedback_campaign_id", "feedback_item_id", "feedback_action_type",
             "feedback_type", "feedback_dismiss_reason", "feedback_snooze_days",
             "feedback_occurred_at_ms")

_FEEDBACK_OF = {"adopted": "applied", "dismissed": "dismissed", "snoozed": "snoozed"}


def epoch_ms(t: np.ndarray) -> np.ndarray:
    """datetime64 values as UTC epoch milliseconds."""
    return np.asarray(t).astype("datetime64[ms]").astype(np.int64)


class PlatformLog:
    """Impressions and the feedback that blocks items (dismissed, snoozed, applied), trimmed to
    what `cfg` can still block, so the day's History stays small over a long simulation."""

    def __init__(self, cfg: PolicyConfig):
        self.cfg = cfg
        self._history = History.empty()
        cool = cfg.dismiss_cooldown_days
        self._longest_block_days = max(*(getattr(cool, f) for f in type(cool).model_fields),
                                       cfg.max_snooze_days, cfg.applied_cooldown_days,
                                       cfg.applied_repeatable_cooldown_days)

    @classmethod
    def replay(cls, cfg: PolicyConfig, impressions: dict[str, np.ndarray] | None) -> "PlatformLog":
        """The log `cfg` keeps, rebuilt from the rows of the impressions table (the answers
        with their times): what a platform that changes its business rules reads back."""
        log = cls(cfg)
        if not impressions:
            return log
        imp = impressions
        log.add_impressions(imp["campaign_id"], imp["item_id"], imp["surface"],
                            epoch_ms(imp["shown_at"]))
        kind = np.array([_FEEDBACK_OF.get(o, "") for o in imp["outcome"]], dtype=object)
        answered = kind != ""
        reason = np.array(["" if r is None else r for r in imp["dismiss_reason"]], dtype=object)
        log.add_feedback(imp["campaign_id"][answered], imp["item_id"][answered],
                         imp["action_type"][answered], kind[answered], reason[answered],
                         epoch_ms(imp["responded_at"][answered]))
        return log

    def add_impressions(self, campaign_id, item_id, surface, served_at_ms) -> None:
        self._append(dict(zip(_IMPRESSION, (campaign_id, item_id, surface, served_at_ms))),
                     _IMPRESSION)

    def add_feedback(self, campaign_id, item_id, action_type, kind, dismiss_reason,
                     occurred_at_ms) -> None:
        """Feedback events; a snooze asks for no length, so the config's default applies."""
        n = len(campaign_id)
        self._append(dict(zip(_FEEDBACK, (campaign_id, item_id, action_type, kind,
                                          dismiss_reason, np.zeros(n, np.int64),
                                          occurred_at_ms))), _FEEDBACK)

    def _append(self, new: dict, names: tuple[str, ...]) -> None:
        h = self._history
        cols = {f: getattr(h, f) for f in _IMPRESSION + _FEEDBACK}
        for name in names:
            cols[name] = np.concatenate([cols[name], np.asarray(new[name])])  # History casts
        self._history = History(**cols)

    def history(self, now_ms: int) -> History:
        """The log as of `now_ms`: what has happened by then (an adoption is answered days after
        its slate), without what can no longer block anything (dropped for good)."""
        h = self._history
        seen = h.impression_served_at_ms > now_ms - self.cfg.reshow_after_days * DAY_MS - DAY_MS
        live = h.feedback_occurred_at_ms > now_ms - self._longest_block_days * DAY_MS - DAY_MS
        if not (seen.all() and live.all()):
            h = self._history = History(**{f: getattr(h, f)[seen] for f in _IMPRESSION},
                                        **{f: getattr(h, f)[live] for f in _FEEDBACK})
        if (h.impression_served_at_ms <= now_ms).all() and (
                h.feedback_occurred_at_ms <= now_ms).all():
            return h
        happened = h.impression_served_at_ms <= now_ms
        answered = h.feedback_occurred_at_ms <= now_ms
        return History(**{f: getattr(h, f)[happened] for f in _IMPRESSION},
                       **{f: getattr(h, f)[answered] for f in _FEEDBACK})
