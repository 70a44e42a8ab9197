import numpy as np

from pipelines.models.calibration import Isotonic, expected_calibration_error


def test_isotonic_calibration_lowers_ece_on_a_miscalibrated_input():
    rng = np.random.default_rng(0)
    true_p = rng.uniform(0, 0.4, 40_000)
    y = (rng.uniform(size=true_p.size) < true_p).astype(float)
    skewed = np.sqrt(true_p)  # over-confident scores, same ranking
    fit, test = slice(0, 20_000), slice(20_000, None)
    cal = Isotonic.fit(skewed[fit], y[fit])
    before = expected_calibration_error(skewed[test], y[test])
    after = expected_calibration_error(cal(skewed[test]), y[test])
    assert before > 0.15 and after < 0.02


def test_ece_of_a_perfect_predictor_is_small():
    rng = np.random.default_rng(1)
    p = rng.uniform(size=100_000)
    y = (rng.uniform(size=p.size) < p).astype(float)
    assert expected_calibration_error(p, y) < 0.01


def test_conformal_margin_brings_a_narrow_interval_to_its_coverage():
    from pipelines.models.calibration import conformal_margin, widen

    rng = np.random.default_rng(2)
    y = rng.normal(10, 5, 4000)
    narrow = np.stack([np.full(4000, 8.0), np.full(4000, 10.0), np.full(4000, 12.0)], axis=1)
    m = conformal_margin(narrow[:2000], y[:2000], coverage=0.8)
    q = widen(narrow[2000:].copy(), m)
    inside = np.mean((y[2000:] >= q[:, 0]) & (y[2000:] <= q[:, 2]))
    assert 0.77 < inside < 0.83
