"""Counter-based random numbers keyed by (seed, stream, entity ids, day, ...).

Every draw in the world is a pure function of its keys, so an advertiser's story depends only on
the seed and its own id: the output is identical however advertisers are grouped into shards, and
two policies run on the same world share their exogenous noise (common random numbers), which
makes A/B comparisons in the simulator far less noisy.
"""

from __future__ import annotations

import zlib

import numpy as np
from scipy import special, stats

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a bijection on uint64 with good avalanche."""
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def stream_id(name: str) -> int:
    """A stable 32-bit id for a named stream of draws."""
    return zlib.crc32(name.encode())


def keyed_bits(seed: int, stream: str, *keys) -> np.ndarray:
    """uint64 hashes of (seed, stream, *keys); keys broadcast like numpy arrays."""
    with np.errstate(over="ignore"):
        h = _mix(np.asarray([seed], dtype=np.uint64) * _GOLDEN + np.uint64(stream_id(stream)))
        for key in keys:
            k = np.asarray(key).astype(np.int64).astype(np.uint64)
            h = _mix(h ^ (k * _GOLDEN + np.uint64(0x632BE59BD9B4E019)))
    return h


def uniform(seed: int, stream: str, *keys) -> np.ndarray:
    """Uniform floats in the open interval (0, 1), one per broadcast key."""
    bits = keyed_bits(seed, stream, *keys)
    return ((bits >> np.uint64(11)).astype(np.float64) + 0.5) * (1.0 / 9007199254740992.0)


def normal(seed: int, stream: str, *keys) -> np.ndarray:
    """Standard normal draws by inverse CDF."""
    return special.ndtri(uniform(seed, stream, *keys))


def poisson(u: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Poisson draws from uniforms by inverse CDF (normal approximation above a mean of 50)."""
    lam = np.asarray(lam, dtype=np.float64)
    u, lam = np.broadcast_arrays(u, lam)
    out = np.empty(lam.shape, dtype=np.int64)
    small = lam < 50
    out[small] = stats.poisson.ppf(u[small], np.maximum(lam[small], 0.0)).astype(np.int64)
    big = ~small
    out[big] = np.maximum(
        np.rint(lam[big] + np.sqrt(lam[big]) * special.ndtri(u[big])), 0
    ).astype(np.int64)
    return out


def choice(u: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Index drawn from each row of `probs` (rows sum to 1) with the matching uniform."""
    cdf = np.cumsum(np.atleast_2d(probs), axis=-1)
    idx = (np.atleast_1d(u)[:, None] > cdf).sum(axis=-1)
    return np.minimum(idx, cdf.shape[-1] - 1)
