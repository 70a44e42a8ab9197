"""What each kind of drift compares, as data frames of named columns: pure functions shared by the
reference (a model's training examples) and the current window (the service's log).

- features: the ranker's inputs on its own scale (numeric features log-squashed and standardised
  as the ranker got them, NaN where the value was missing; categorical features as their values);
- predictions: calibrated adoption and dismissal probabilities and the expected impact;
- outcomes: what the advertiser did with each item, one column per surface;
- shown: the action types and categories served.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.domain.actions import CATEGORY_OF
from pipelines.domain.vocabulary import SURFACES
from pipelines.errors import DataError
from pipelines.models.features import FeatureSpec

PREDICTIONS = ("p_adopt", "p_dismiss", "impact_expected")
SHOWN = ("action_type", "category")
UNKNOWN = "(unknown)"  # a categorical value outside the model's vocabulary
ADOPTION_DAYS = 7  # an item counts as adopted when applied within 7 days (the training label)
_DAY_MS = 86_400_000


def outcome_column(surface: str) -> str:
    return f"outcome@{surface}"


OUTCOME_COLUMNS = tuple(outcome_column(s) for s in SURFACES)


def feature_frame(numeric: np.ndarray, categorical: np.ndarray, spec: FeatureSpec
                  ) -> pd.DataFrame:
    """Named columns of encoded ranker rows (`numeric` [n, spec.n_numeric] with its missing
    flags last, `categorical` [n, len(spec.categorical)] vocabulary codes). Rows of another
    model's features raise DataError."""
    n_num = len(spec.numeric)
    if len(numeric) == 0:  # no row: decode cannot tell the width
        numeric = np.zeros((0, spec.n_numeric), np.float32)
        categorical = np.zeros((0, len(spec.categorical)), np.int32)
    if numeric.shape[1] != spec.n_numeric or categorical.shape[1] != len(spec.categorical):
        raise DataError(f"encoded rows have {numeric.shape[1]} numeric and "
                         f"{categorical.shape[1]} categorical values; the model's features "
                         f"have {spec.n_numeric} and {len(spec.categorical)}")
    values = numeric[:, :n_num].astype(np.float64)
    at = {c: i for i, c in enumerate(spec.numeric)}
    for j, c in enumerate(spec.with_missing_flag):
        values[numeric[:, n_num + j] > 0.5, at[c]] = np.nan
    out = dict(zip(spec.numeric, values.T))
    for j, c in enumerate(spec.categorical):
        names = np.array([UNKNOWN, *spec.vocab[c]], dtype=object)
        out[c] = names[np.clip(categorical[:, j], 0, len(names) - 1)]
    return pd.DataFrame(out)


def shown_frame(action_type: np.ndarray) -> pd.DataFrame:
    action_type = np.asarray(action_type, dtype=object)
    return pd.DataFrame({"action_type": action_type,
                         "category": [CATEGORY_OF.get(a, UNKNOWN) for a in action_type]})


def outcome_frame(surface: np.ndarray, outcome: np.ndarray) -> pd.DataFrame:
    """One column per surface holding the outcome of that surface's rows (None elsewhere, which
    Evidently leaves out), so each surface's rates are compared on their own."""
    surface = np.asarray(surface, dtype=object)
    outcome = np.asarray(outcome, dtype=object)
    return pd.DataFrame({outcome_column(s): np.where(surface == s, outcome, None)
                         for s in SURFACES})


def logged_outcomes(impressions: pd.DataFrame, events: pd.DataFrame, until_ms: int,
                    wait_days: int) -> pd.DataFrame:
    """(surface, outcome) of every impression served at least `wait_days` before `until_ms`:
    adopted if applied within 7 days, else dismissed or snoozed if it was, else ignored;
    only events before `until_ms` count."""
    old = impressions[impressions.served_at_ms <= until_ms - wait_days * _DAY_MS]
    ev = events[events.occurred_at_ms < until_ms].merge(
        old[["recommendation_id", "served_at_ms"]], on="recommendation_id")
    applied = ev[(ev.type == "applied")
                 & (ev.occurred_at_ms - ev.served_at_ms <= ADOPTION_DAYS * _DAY_MS)]
    outcome = np.full(len(old), "ignored", dtype=object)
    rec = old.recommendation_id.to_numpy()
    for name, ids in (("snoozed", ev.recommendation_id[ev.type == "snoozed"]),
                      ("dismissed", ev.recommendation_id[ev.type == "dismissed"]),
                      ("adopted", applied.recommendation_id)):  # the later wins
        outcome[np.isin(rec, ids.to_numpy())] = name
    return pd.DataFrame({"surface": old.surface.to_numpy(), "outcome": outcome})


def example_outcomes(examples: pd.DataFrame) -> pd.DataFrame:
    """(surface, outcome) of training examples, from their labels."""
    outcome = np.full(len(examples), "ignored", dtype=object)
    for name, label in (("snoozed", "label_snoozed"), ("dismissed", "label_dismissed"),
                        ("adopted", "label_adopted")):
        outcome[examples[label].to_numpy(bool)] = name
    return pd.DataFrame({"surface": examples.surface.to_numpy(), "outcome": outcome})
