import numpy as np

from pipelines.models.calibration import Isotonic, ece_if_calibrated, expected_calibration_error


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


def test_the_ece_floor_is_the_ece_of_labels_drawn_from_the_predictions_themselves():
    p = np.random.default_rng(3).uniform(0, 0.5, 400)
    floor = ece_if_calibrated(p, draws=50, seed=4)
    labels = np.random.default_rng(4).random((50, p.size)) < p
    by_draw = [expected_calibration_error(p, row.astype(float)) for row in labels]
    assert np.isclose(floor["mean"], np.mean(by_draw))
    assert np.isclose(floor["p95"], np.quantile(by_draw, 0.95))


def test_the_ece_floor_falls_with_rows_and_separates_a_real_miscalibration():
    rng = np.random.default_rng(5)
    small, large = rng.uniform(0, 0.5, 350), rng.uniform(0, 0.5, 50_000)
    assert ece_if_calibrated(small)["mean"] > 0.02 > 0.005 > ece_if_calibrated(large)["mean"]
    # 350 rows: a calibrated model stays under the floor's 95th percentile in about 95 % of
    # draws; one that predicts 0.12 too much exceeds it in nearly all
    floor = ece_if_calibrated(small)["p95"]
    within = [expected_calibration_error(small, (rng.random(350) < small).astype(float)) <= floor
              for _ in range(200)]
    beyond = [expected_calibration_error(small + 0.12, (rng.random(350) < small).astype(float))
              > floor for _ in range(200)]
    assert 0.88 < np.mean(within) and np.mean(beyond) > 0.95


def test_conformal_margin_brings_a_narrow_interval_to_its_coverage():
    from pipelines.models.calibration import conformal_margin, widen

    rng = np.random.default_rng(2)
    y = rng.normal(10, 5, 4000)
    narrow = np.stack([np.full(4000, 8.0), np.full(4000, 10.0), np.full(4000, 12.0)], axis=1)
    m = conformal_margin(narrow[:2000], y[:2000], coverage=0.8)
    q = widen(narrow[2000:].copy(), m)
    inside = np.mean((y[2000:] >= q[:, 0]) & (y[2000:] <= q[:, 2]))
    assert 0.77 < inside < 0.83
