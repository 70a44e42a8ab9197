import numpy as np

from pipelines.world import random as wr


def test_draws_depend_only_on_their_keys():
    ids = np.arange(1000)
    whole = wr.uniform(7, "s", ids, 3)
    parts = np.concatenate([wr.uniform(7, "s", ids[i:i + 250], 3) for i in range(0, 1000, 250)])
    assert np.array_equal(whole, parts)
    assert not np.array_equal(whole, wr.uniform(8, "s", ids, 3))
    assert not np.array_equal(whole, wr.uniform(7, "t", ids, 3))
    assert not np.array_equal(whole, wr.uniform(7, "s", ids, 4))


def test_uniforms_and_normals_have_the_right_moments():
    u = wr.uniform(1, "m", np.arange(200_000))
    assert u.min() > 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.005 and abs(u.var() - 1 / 12) < 0.002
    z = wr.normal(1, "n", np.arange(200_000))
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01


def test_poisson_matches_its_mean_small_and_large():
    for lam in (0.3, 4.0, 300.0):
        x = wr.poisson(wr.uniform(2, "p", np.arange(100_000)), np.full(100_000, lam))
        assert abs(x.mean() - lam) < 0.02 * lam + 0.01
        assert abs(x.var() - lam) < 0.05 * lam + 0.02
