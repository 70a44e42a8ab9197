"""What an experiment records while the world lives, beyond the world's own tables: a shadow
policy's scores of the same candidates (for off-policy estimates), the logged bandit rows those
estimates read, the first slot of every slate (how well an arm's logs can evaluate another
policy), and the impact interval shown beside every adopted item."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pipelines.domain.actions import ACTION_CATEGORY
from pipelines.domain.vocabulary import SURFACES
from pipelines.policy import plackett_luce
from pipelines.policy.config import PolicyConfig
from pipelines.policy.marginals import marginals
from pipelines.world.oracle import examination
from pipelines.world.policies import Policy, PolicyView

_ADOPTED = "adopted"


@dataclass
class Shadowed:
    """Acts as `acting`; from `from_day` on, also scores every day's candidates with
    `evaluated` and keeps the last day's (view, acting scores, evaluated scores)."""

    acting: Policy
    evaluated: Policy
    from_day: int = 0
    last: tuple[PolicyView, np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.acting.name

    @property
    def config(self) -> PolicyConfig:
        return self.acting.config

    def scores(self, view: PolicyView) -> np.ndarray:
        s = self.acting.scores(view)
        self.last = ((view, s, self.evaluated.scores(view)) if view.day >= self.from_day
                     else None)
        return s


def bandit_rows(day: int, served, answers, shadow: Shadowed, n_samples: int,
                seed: int) -> dict[str, np.ndarray]:
    """One logged-bandit row per shown item of the day (pipelines.ope.data's schema): the
    action is the item's index among its session's eligible candidates; `pscore` the logging
    policy's marginal probability of that item at that position, estimated by sampling its own
    Plackett–Luce draw (`pscore_stderr` its Monte-Carlo error); `pscore_cascade` the logged
    prefix probability (exact); the evaluated policy's marginals over the session's candidates
    at that position (`action_dist`, ragged: `dist_len` cuts `dist`), its probability of the
    logged prefix, and its calibrated P(adopt) of every candidate at that position (the reward
    model of the doubly robust estimate) when it has one. And from the world's truth, for
    judging the estimates: the evaluated policy's expected reward at each row's slot
    (`one_step_truth`: its marginals at that position times the true P(adopt) there) and the
    logged item's (`logged_truth`)."""
    view, acting, evaluated = shadow.last
    c, slates = view.candidates, served.slates
    session = c.session
    category = ACTION_CATEGORY[c.action]
    logged_k = np.bincount(slates.group, minlength=session.max() + 1)
    # index of each candidate within its session (candidates come grouped by session)
    order = np.argsort(session, kind="stable")
    starts = np.searchsorted(session[order], np.arange(session.max() + 1))
    local = np.empty(len(c), np.int64)
    local[order] = np.arange(len(c)) - starts[session[order]]
    out = {k: [] for k in ("round_id", "cluster_id", "action", "position", "reward", "pscore",
                           "pscore_stderr", "pscore_cascade", "evaluation_pscore_cascade",
                           "dist", "dist_len", "q_hat", "surface", "one_step_truth",
                           "logged_truth")}
    reward = (answers.impressions["outcome"] == _ADOPTED).astype(float)
    shown_adv = answers.impressions["advertiser_id"]
    predictor = getattr(shadow.evaluated, "predict", None)
    q = (predictor.adoption_by_position(int(logged_k.max()))
         if hasattr(predictor, "adoption_by_position") else None)
    # the world's P(adopt) of every candidate at the top of its surface: with the examination
    # of each position, the evaluated slate's true one-step value on these very sessions
    top = view.truth()["p_adopt"]
    for s_index, name in enumerate(SURFACES):
        rows = np.flatnonzero(view.surface == s_index)
        shown = np.flatnonzero(view.surface[slates.index] == s_index)
        if len(shown) == 0:
            continue
        sess = session[rows]
        k = logged_k[:sess.max() + 1]
        log_cfg = shadow.acting.config.surface(name)
        eval_cfg = shadow.evaluated.config.surface(name)
        log_m = _marginals(acting[rows], sess, k, log_cfg, category[rows], n_samples, seed + day)
        eval_m = _marginals(evaluated[rows], sess, k, eval_cfg, category[rows], n_samples,
                            seed + day + 7919)
        at = np.searchsorted(rows, slates.index[shown])  # shown rows within `rows`
        pos = slates.position[shown] - 1
        out["pscore"].append(log_m.p[at, pos])
        out["pscore_stderr"].append(log_m.stderr[at, pos])
        out["evaluation_pscore_cascade"].append(_prefix_under(
            evaluated[rows], sess, at, pos, eval_cfg, category[rows]))
        # each shown row's distribution: its session's candidates (in `local` order) at its
        # position; a session's candidates all lie on its one surface
        by_session = np.argsort(sess, kind="stable")
        begin = np.searchsorted(sess[by_session], sess[at])
        size = np.bincount(sess)[sess[at]]
        seen = examination(np.full(len(pos), s_index), pos + 1) / examination(
            np.array([s_index]), np.array([1]))
        for b, n, p, e in zip(begin, size, pos, seen):
            members = by_session[b:b + n]
            out["dist"].append(eval_m.p[members, p])
            out["q_hat"].append(q[rows[members], p] if q is not None else np.full(n, np.nan))
            out["dist_len"].append(n)
            out["one_step_truth"].append([float(eval_m.p[members, p] @ top[rows[members]]) * e])
        out["logged_truth"].append(answers.oracle["p_adopt"][shown])
        out["round_id"].append(answers.impressions["slate_id"][shown])
        out["cluster_id"].append(shown_adv[shown])
        out["action"].append(local[slates.index[shown]])
        out["position"].append(pos)
        out["reward"].append(reward[shown])
        out["pscore_cascade"].append(slates.slate_propensity[shown])
        out["surface"].append(np.full(len(shown), name, dtype=object))
    if not out["round_id"]:
        return {}
    flat = {k: np.concatenate(v) for k, v in out.items()
            if k not in ("dist", "q_hat", "dist_len")}
    flat["dist_len"] = np.asarray(out["dist_len"], np.int64)
    flat["dist"] = np.concatenate(out["dist"])
    flat["q_hat"] = np.concatenate(out["q_hat"])
    return flat


def _marginals(scores, group, k, surf, category, n_samples, seed):
    return marginals(scores, group, k, surf.temperature, category, surf.max_per_category,
                     n_samples, seed)


def _prefix_under(scores: np.ndarray, group: np.ndarray, chosen: np.ndarray,
                  position: np.ndarray, surf, category: np.ndarray) -> np.ndarray:
    """The probability that a policy scoring `scores` with its surface settings `surf` draws
    the logged prefix up to each chosen row: the product of its step probabilities."""
    if surf.temperature == 0 or surf.exploration_floor > 0:
        raise ValueError("off-policy estimates evaluate a Plackett–Luce policy with a "
                         "temperature above 0 and no exploration floor")
    _, cat_code = np.unique(category, return_inverse=True)
    step = plackett_luce.step_propensities(scores / surf.temperature, group, chosen, position,
                                           cat_code, surf.max_per_category)
    out = np.empty(len(chosen))
    for g in np.unique(group[chosen]):
        m = np.flatnonzero(group[chosen] == g)
        m = m[np.argsort(position[m])]
        out[m] = np.cumprod(step[m])
    return out


def first_slot_rows(day: int, served, answers, shadow: Shadowed) -> dict[str, np.ndarray]:
    """The first item of every slate: the acting policy's logged probability of it, the
    evaluated policy's probability of drawing it first (a softmax of its scores over the
    session's candidates at its surface's temperature), and whether it was adopted. The
    importance weights of these rows say how much the acting policy's logs can tell about
    the evaluated one."""
    view, _, evaluated = shadow.last
    slates = served.slates
    top = np.flatnonzero(slates.position == 1)
    session = view.candidates.session
    temp = np.array([shadow.evaluated.config.surface(s).temperature for s in SURFACES])
    t = temp[view.surface]
    if (t == 0).any():
        raise ValueError("the evaluated policy must explore (temperature > 0) on every surface")
    logit = evaluated / t
    peak = np.full(session.max() + 1, -np.inf)
    np.maximum.at(peak, session, logit)
    w = np.exp(logit - peak[session])
    total = np.bincount(session, weights=w)
    chosen = slates.index[top]
    return {"day": np.full(len(top), day), "advertiser_id": answers.impressions[
                "advertiser_id"][top],
            "surface": np.asarray(SURFACES, dtype=object)[view.surface[chosen]],
            "pscore": slates.propensity[top],
            "evaluation_p": w[chosen] / total[session[chosen]],
            "reward": (answers.impressions["outcome"][top] == _ADOPTED).astype(float)}


def adopted_rows(day: int, served, answers, interval: np.ndarray | None
                 ) -> dict[str, np.ndarray]:
    """Every adopted item of the day with the impact interval shown beside it (`interval`:
    [shown, 3] low, median, high conversions over 14 days, or None when the policy shows none)
    and the effect that followed: the realised change in conversions over the 14 days after it
    took effect, and the world's expected change."""
    imp = answers.impressions
    adopted = np.flatnonzero(imp["outcome"] == _ADOPTED)
    iv = interval[adopted] if interval is not None else np.full((len(adopted), 3), np.nan)
    return {"day": np.full(len(adopted), day), "advertiser_id": imp["advertiser_id"][adopted],
            "action_type": imp["action_type"][adopted], "surface": imp["surface"][adopted],
            "promised_low": iv[:, 0], "promised": iv[:, 1], "promised_high": iv[:, 2],
            "realised": imp["outcome_conversions_delta"][adopted],
            "expected": answers.oracle["expected_conversions_delta"][adopted]}
