"""A reward model q̂(x, a, position) for the doubly robust estimator, cross-fitted: each row's
predictions come from a model fitted on the other folds (folds are whole clusters, or rounds),
so q̂ never depends on the row's own reward and DR stays unbiased with right propensities.

Deliberately simple: ridge regression on the context, the action's features (one-hot, or the
action context table), the position (one-hot), context × action and position × action. The
features are sparse, and since the model is linear q̂ for every action is computed from its
coefficient blocks without building a row per (row, action).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import Ridge
from sklearn.model_selection import GroupKFold

RIDGE_ALPHA = 1.0


@dataclass(frozen=True)
class _Block:
    """A feature block with the same number of stored entries on every row."""

    index: np.ndarray  # [n, nnz] column within the block
    value: np.ndarray  # [n, nnz]
    width: int


def _dense(x: np.ndarray) -> _Block:
    n, d = x.shape
    return _Block(np.broadcast_to(np.arange(d), (n, d)), x, d)


def _onehot(code: np.ndarray, width: int) -> _Block:
    return _Block(code[:, None], np.ones((len(code), 1)), width)


def _kron(u: _Block, v: _Block) -> _Block:
    """Row-wise outer product u_i ⊗ v_i (column u_j · v.width + v_l)."""
    index = u.index[:, :, None] * v.width + v.index[:, None, :]
    value = u.value[:, :, None] * v.value[:, None, :]
    n = len(index)
    return _Block(index.reshape(n, -1), value.reshape(n, -1), u.width * v.width)


def _matrix(blocks: list[_Block]) -> sp.csr_matrix:
    offsets = np.cumsum([0] + [b.width for b in blocks])
    index = np.hstack([b.index + off for b, off in zip(blocks, offsets)])
    value = np.hstack([b.value for b in blocks])
    n, nnz = index.shape
    return sp.csr_matrix((value.ravel(), index.ravel(), np.arange(0, n * nnz + 1, nnz)),
                         shape=(n, int(offsets[-1])))


def _action_block(action: np.ndarray, action_features: np.ndarray | None,
                  n_actions: int) -> _Block:
    if action_features is None:
        return _onehot(action, n_actions)
    return _dense(action_features[action])


def fit_predict(context: np.ndarray, action: np.ndarray, position_index: np.ndarray,
                reward: np.ndarray, train: np.ndarray, predict: np.ndarray, n_actions: int,
                n_positions: int, action_features: np.ndarray | None = None) -> np.ndarray:
    """q̂[i, a] for the rows `predict` and every action, from a ridge model fitted on the rows
    `train`, clipped to the training rewards' range."""
    x, pos = _dense(context[train]), _onehot(position_index[train], n_positions)
    act = _action_block(action[train], action_features, n_actions)
    features = _matrix([x, act, pos, _kron(x, act), _kron(pos, act)])
    model = Ridge(alpha=RIDGE_ALPHA).fit(features, reward[train])
    d, p = context.shape[1], n_positions
    a_feat = np.eye(n_actions) if action_features is None else action_features
    da = a_feat.shape[1]
    coef = np.split(model.coef_, np.cumsum([d, da, p, d * da]))
    beta_x, beta_a, beta_p, w_xa, w_pa = coef[0], coef[1], coef[2], coef[3].reshape(d, da), \
        coef[4].reshape(p, da)
    xp, pp = context[predict], position_index[predict]
    base = model.intercept_ + xp @ beta_x + beta_p[pp]
    q = base[:, None] + (a_feat @ beta_a)[None, :] + (xp @ w_xa + w_pa[pp]) @ a_feat.T
    return np.clip(q, reward[train].min(), reward[train].max())


def cross_fitted(context: np.ndarray, action: np.ndarray, position_index: np.ndarray,
                 reward: np.ndarray, groups: np.ndarray, n_actions: int,
                 action_features: np.ndarray | None = None, folds: int = 5) -> np.ndarray:
    """[n_rows, n_actions]: each row's q̂ for every action from the model fitted on the folds
    that do not hold its group (`groups`: cluster or round codes; at least 2 distinct)."""
    n_positions = int(position_index.max()) + 1
    out = np.empty((len(reward), n_actions))
    splitter = GroupKFold(n_splits=min(folds, len(np.unique(groups))))
    for train, held_out in splitter.split(context, groups=groups):
        out[held_out] = fit_predict(context, action, position_index, reward, train, held_out,
                                    n_actions, n_positions, action_features)
    return out
