"""The account briefs measured against the world's truth: does a brief's top point at what is
really worth doing?

For every account, the world knows the true expected profit of every action that applies as
the history ends (pipelines.experiments.action_values); its two most valuable action types that
are worth something (profit above 0) are the truth. A brief hits when one of its first five
items bears on the category of one of them. The guided brief (`guidance brief --all`: unusual
signals tied to the guidance available) is set beside the baseline made of the five most
extreme signals without regard to guidance, each item's categories judged by the same rule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.dataset as pads
import ray

from pipelines.context import load
from pipelines.experiments.action_values import action_values, most_valuable
from pipelines.experiments.block import WorldFacts
from pipelines.runtime import ensure_ray
from pipelines.storage.root import Root
from pipelines.storage.snapshots import latest_version
from pipelines.world.config import BLOCK_SIZE

TOP_ITEMS = 5  # the brief's first items that must bear on a valuable action
TOP_ACTIONS = 2  # the account's most valuable action types
TARGET = 0.8  # share of the accounts with a valuable action whose brief hits


def _values(facts: WorldFacts, ids: np.ndarray) -> pd.DataFrame:
    return action_values(facts.spec(1), ids, facts.days)


_values_task = ray.remote(num_cpus=1)(_values)


def true_values(facts: WorldFacts, advertiser_ids: np.ndarray) -> pd.DataFrame:
    """action_values of every advertiser as the history ends, blocks as Ray tasks."""
    ensure_ray()
    blocks = [advertiser_ids[i:i + BLOCK_SIZE] for i in range(0, len(advertiser_ids),
                                                               BLOCK_SIZE)]
    return pd.concat(ray.get([_values_task.remote(facts, b) for b in blocks]),
                     ignore_index=True)


def _items(root: Root, version: str, kind: str) -> pd.DataFrame:
    path = f"briefs/{version}/{kind}"
    root.require(f"briefs/{version}", f"no briefs under {root.join(f'briefs/{version}')}: "
                 "run `guidance brief --all` first")
    return pads.dataset(root.join(path), filesystem=root.fs, format="parquet").to_table(
        columns=["advertiser_id", "rank", "categories"]).to_pandas()


def hits(items: pd.DataFrame, truth: pd.DataFrame, top: int = TOP_ITEMS) -> pd.Series:
    """Per account of `truth` (the most valuable action types): whether one of the first `top`
    brief items bears on the category of one of them (False for an account without a brief)."""
    first = items[items["rank"] <= top]
    bears = first.explode("categories").dropna(subset=["categories"])
    bears = set(zip(bears.advertiser_id, bears.categories))
    per = truth.groupby("advertiser_id").category.apply(set)
    return pd.Series({a: any((a, c) in bears for c in cats) for a, cats in per.items()},
                     dtype=bool)


def judge(root: Root, facts: WorldFacts, version: str | None = None) -> dict:
    """The share of accounts (with an action worth something) whose guided brief hits, beside
    the extreme-signals baseline's; per category of the best action too."""
    version = version or latest_version(root)
    guided, baseline = _items(root, version, "items"), _items(root, version, "baseline")
    ids = np.sort(load.dataset(root, "advertisers").to_table(columns=["advertiser_id"])
                  .column("advertiser_id").to_numpy())
    truth = most_valuable(true_values(facts, ids), TOP_ACTIONS)
    g, b = hits(guided, truth), hits(baseline, truth)
    best = truth[truth["rank"] == 1].set_index("advertiser_id").category
    by_category = {c: {"accounts": int((best == c).sum()),
                       "guided": float(g[best.index[best == c]].mean()),
                       "baseline": float(b[best.index[best == c]].mean())}
                   for c in sorted(best.unique())}
    return {"snapshot": version, "advertisers": int(len(ids)), "accounts": int(len(g)),
            "top_items": TOP_ITEMS, "top_actions": TOP_ACTIONS, "target": TARGET,
            "guided": float(g.mean()), "baseline": float(b.mean()),
            "met": bool(g.mean() >= TARGET), "by_best_category": by_category}


def render(result: dict) -> str:
    return (f"briefs of snapshot {result['snapshot']} against the world's truth: of "
            f"{result['accounts']:,} accounts with an action worth something (of "
            f"{result['advertisers']:,}), the first {result['top_items']} items bear on one of "
            f"their {result['top_actions']} most valuable actions in {result['guided']:.1%} "
            f"(target {result['target']:.0%}: {'met' if result['met'] else 'MISSED'}); the five "
            f"most extreme signals do in {result['baseline']:.1%}")
