"""Shocks: each one shows in the raw tables from its day on, and nothing changes before it.

Tiny worlds are written part by part with the job's own per-block function (no Ray), with and
without a shock; the worlds share their seed, so a shock's effect is the difference."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.main import app
from pipelines.domain.vocabulary import VERTICALS
from pipelines.errors import ConfigError
from pipelines.storage.root import Root
from pipelines.world import population, shocks
from pipelines.world.calibration import TIER_SHARE, VERTICAL_SHARE
from pipelines.world.config import WorldConfig
from pipelines.world.job import _write_block, shock_entries, spec_of
from pipelines.world.market import market_table
from pipelines.world.shocks import MarketShock, SignupMixShock, TrackingOutage

SIZE = dict(scale="tiny", advertisers=300, days=30, seed=3, signup_share=0.4)
START = dt.date(2025, 9, 22)  # WorldConfig's default start_date
DAY = 20
SHOCK_DATE = START + dt.timedelta(days=DAY)
DAILY = ("daily_performance", "workflow_events", "impressions")
WORLDS = {
    "base": (),
    "market": (MarketShock(vertical="legal", from_day=DAY, price_factor=1.6),),
    "signup_mix": (SignupMixShock(vertical="legal", from_day=DAY, share_factor=5.0),),
    "tracking_outage": (TrackingOutage(from_day=SHOCK_DATE, share=0.3),),  # given as a date
}


def _write(path: str, world_shocks: tuple) -> dict[str, pd.DataFrame]:
    """Every raw table of a tiny world (and the oracle's truth), written and read back."""
    cfg = WorldConfig(**SIZE, root=path, shocks=world_shocks)
    root = Root(path)
    root.write_parquet(market_table(spec_of(cfg).market), root.join("raw/market/part-0.parquet"))
    for block in range(cfg.n_blocks):
        _write_block(cfg.model_dump(mode="json"), block, root.path)
    tables = {name: root.read_table(f"raw/{name}").to_pandas()
              for name in ("advertisers", "campaigns", "market", *DAILY)}
    tables["impression_oracle"] = root.read_table("truth/impression_oracle").to_pandas()
    return tables


@pytest.fixture(scope="module")
def worlds(tmp_path_factory) -> dict[str, dict[str, pd.DataFrame]]:
    return {name: _write(str(tmp_path_factory.mktemp(name)), s) for name, s in WORLDS.items()}


def _day(table: str, frame: pd.DataFrame) -> pd.Series:
    """Each row's date."""
    column = {"daily_performance": "date", "market": "date", "workflow_events": "event_time",
              "impressions": "shown_at"}[table]
    return pd.to_datetime(frame[column]).dt.date


def _before(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    return frame[_day(table, frame) < SHOCK_DATE].reset_index(drop=True)


def _with_vertical(world: dict[str, pd.DataFrame]) -> pd.DataFrame:
    perf = world["daily_performance"]
    return perf.merge(world["advertisers"][["advertiser_id", "vertical"]], on="advertiser_id")


@pytest.mark.parametrize("shocked", ["market", "signup_mix", "tracking_outage"])
def test_nothing_changes_before_the_shock_day(worlds, shocked):
    base, world = worlds["base"], worlds[shocked]
    for table in (*DAILY, "market"):
        before = _before(table, world[table])
        assert len(before) > 100, table
        pd.testing.assert_frame_equal(before, _before(table, base[table]), obj=table)
    ids = _before("impressions", world["impressions"]).impression_id
    oracle = [w["impression_oracle"].set_index("impression_id").loc[ids] for w in (world, base)]
    pd.testing.assert_frame_equal(*oracle)
    opened = [w["advertisers"][w["advertisers"].signup_date < SHOCK_DATE].reset_index(drop=True)
              for w in (world, base)]
    pd.testing.assert_frame_equal(*opened)
    # and the shock does change the world from its day on
    assert not world["daily_performance"].equals(base["daily_performance"])


def _unreached(shocked: str, world: dict[str, pd.DataFrame]) -> np.ndarray:
    """Accounts the shock never reaches: another vertical, open before the day, or spared by
    the outage's hash."""
    adv = world["advertisers"]
    if shocked == "market":
        return adv.advertiser_id[adv.vertical != "legal"].to_numpy()
    if shocked == "signup_mix":
        return adv.advertiser_id[adv.signup_date < SHOCK_DATE].to_numpy()
    resolved = shocks.resolve(WORLDS[shocked], START)
    ids = adv.advertiser_id.to_numpy()
    return ids[~shocks.tracking_lost(resolved, SIZE["seed"], ids, DAY)]


@pytest.mark.parametrize("shocked", ["market", "signup_mix", "tracking_outage"])
def test_accounts_a_shock_never_reaches_live_the_same_history(worlds, shocked):
    ids = _unreached(shocked, worlds[shocked])
    assert 100 < len(ids) < SIZE["advertisers"]
    for table in DAILY:
        same = [w[table][w[table].advertiser_id.isin(ids)].reset_index(drop=True)
                for w in (worlds[shocked], worlds["base"])]
        assert len(same[0]) > 100
        pd.testing.assert_frame_equal(*same, obj=table)


def test_market_shock_raises_one_verticals_prices_from_its_day(worlds):
    base, world = worlds["base"]["market"], worlds["market"]["market"]
    ratio = pd.DataFrame({"vertical": base.vertical, "after": _day("market", base) >= SHOCK_DATE,
                          "cpc": world.cpc_index / base.cpc_index,
                          "cpm": world.cpm_index / base.cpm_index})
    hit = (ratio.vertical == "legal") & ratio.after
    np.testing.assert_allclose(ratio.loc[hit, ["cpc", "cpm"]], 1.6, rtol=1e-3)
    assert (ratio.loc[~hit, ["cpc", "cpm"]] == 1.0).all().all()

    perf = {name: _with_vertical(worlds[name]) for name in ("base", "market")}
    legal = {name: p[p.vertical == "legal"] for name, p in perf.items()}
    after = {name: p[p.date >= SHOCK_DATE] for name, p in legal.items()}
    cpc = {name: p.spend.sum() / p.clicks.sum() for name, p in after.items()}
    assert 1.45 < cpc["market"] / cpc["base"] < 1.75, cpc
    assert after["market"].clicks.sum() > 1000


def test_sign_ups_after_the_day_follow_the_new_mix(worlds):
    legal_share = {}
    for name in ("base", "signup_mix"):
        adv = worlds[name]["advertisers"]
        late = adv[adv.signup_date >= SHOCK_DATE]
        assert len(late) > 30
        legal_share[name] = (late.vertical == "legal").mean()
    assert legal_share["base"] < 0.15 and legal_share["signup_mix"] > 0.25, legal_share


def test_accounts_open_on_their_sign_up_day_and_not_before(worlds):
    world = worlds["base"]
    adv = world["advertisers"].set_index("advertiser_id")
    opened = adv.signup_date[adv.signup_date >= START]
    assert 0.3 < len(opened) / len(adv) < 0.5  # signup_share 0.4
    assert opened.min() < START + dt.timedelta(days=10) < SHOCK_DATE < opened.max()
    for table in DAILY:
        rows = world[table]
        first = _day(table, rows).groupby(rows.advertiser_id).min()
        late = first.index.intersection(opened.index)
        assert len(late) > 20, table
        assert (first[late] >= opened[late]).all(), table
    campaigns = world["campaigns"].set_index("advertiser_id")
    late = campaigns.index.isin(opened.index)
    assert (campaigns.created_date[late] == opened.reindex(campaigns.index[late]).values).all()


def test_a_tracking_outage_zeroes_a_share_of_accounts_conversions(worlds):
    def by_account(perf):
        tracked = perf[perf.conversion_tracking != "none"]
        after = tracked.date >= SHOCK_DATE
        return pd.DataFrame({
            "conv_before": tracked[~after].groupby("advertiser_id").conversions.sum(),
            "conv_after": tracked[after].groupby("advertiser_id").conversions.sum(),
            "value_after": tracked[after].groupby("advertiser_id").conversion_value.sum(),
            "clicks_after": tracked[after].groupby("advertiser_id").clicks.sum(),
            "spend_after": tracked[after].groupby("advertiser_id").spend.sum(),
        }).dropna()

    both = by_account(worlds["tracking_outage"]["daily_performance"]).join(
        by_account(worlds["base"]["daily_performance"]), rsuffix="_base", how="inner")
    converting = both.conv_after_base > 0  # accounts that report conversions without the outage
    lost = converting & (both.conv_after == 0)
    assert converting.sum() > 80
    assert 0.15 < lost.sum() / converting.sum() < 0.45  # share 0.3
    assert (both.value_after[lost] == 0).all()
    # the other accounts report as before, and the lost ones still get clicks and spend
    assert (both.conv_after[converting & ~lost] > 0).all()
    kept = both[lost]
    assert kept.clicks_after.sum() > 0.9 * kept.clicks_after_base.sum() > 0
    assert kept.spend_after.sum() > 0.9 * kept.spend_after_base.sum() > 0


def test_the_sign_up_mix_at_scale():
    ids = np.arange(40_000)
    days = 30
    mixes = (SignupMixShock(vertical="legal", from_day=DAY, share_factor=5.0),
             SignupMixShock(tier="enterprise", from_day=10, share_factor=10.0))
    plain = population.advertisers(5, ids, days, 0.5)
    moved = population.advertisers(5, ids, days, 0.5, mixes)
    opens = -moved.tenure_days
    np.testing.assert_array_equal(opens, -plain.tenure_days)
    legal, enterprise = VERTICALS.index("legal"), 2
    share = lambda adv, mask, col, value: (getattr(adv, col)[mask] == value).mean()  # noqa: E731
    late, early = opens >= DAY, (opens >= 0) & (opens < 10)
    expected = 5 * VERTICAL_SHARE[legal] / (VERTICAL_SHARE.sum() + 4 * VERTICAL_SHARE[legal])
    assert abs(share(moved, late, "vertical", legal) - expected) < 0.02
    assert abs(share(plain, late, "vertical", legal) - VERTICAL_SHARE[legal]) < 0.015
    expected = 10 * TIER_SHARE[enterprise] / (1 + 9 * TIER_SHARE[enterprise])
    assert abs(share(moved, opens >= 10, "tier", enterprise) - expected) < 0.015
    untouched = opens < 10  # accounts open before the history, and the first ten days' sign-ups
    assert early.sum() > 5_000
    for col in ("vertical", "country", "tier", "tenure_days", "taste", "value_per_conversion"):
        np.testing.assert_array_equal(getattr(moved, col)[untouched],
                                      getattr(plain, col)[untouched], err_msg=col)


def test_the_manifest_records_each_shock_with_its_day_and_date():
    cfg = WorldConfig(**SIZE, root="unused", shocks=(
        TrackingOutage(from_day=SHOCK_DATE, share=0.3),
        SignupMixShock(country="IN", from_day=5)))
    assert WorldConfig(**cfg.model_dump(mode="json")) == cfg
    assert shock_entries(spec_of(cfg)) == [
        {"kind": "tracking_outage", "from_day": DAY, "from_date": SHOCK_DATE.isoformat(),
         "share": 0.3},
        {"kind": "signup_mix", "from_day": 5, "from_date": "2025-09-27", "vertical": None,
         "country": "IN", "tier": None, "share_factor": 3.0}]


@pytest.mark.parametrize("spelling, shock", [
    ("market:vertical=legal,from_day=20", MarketShock(vertical="legal", from_day=20)),
    ("market:from_day=2025-10-12,vertical=travel,price_factor=2",
     MarketShock(vertical="travel", from_day=dt.date(2025, 10, 12), price_factor=2.0)),
    ("signup_mix:tier=enterprise,from_day=3,share_factor=4",
     SignupMixShock(tier="enterprise", from_day=3, share_factor=4.0)),
    ("tracking_outage:from_day=0", TrackingOutage(from_day=0)),
])
def test_spellings(spelling, shock):
    assert shocks.parse(spelling) == shock


@pytest.mark.parametrize("spelling, message", [
    ("crash:from_day=3", "unknown kind 'crash'; use one of market, signup_mix, tracking_outage"),
    ("market:vertical=retail,from_day=3", "vertical: Input should be 'apparel', 'animals_pets'"),
    ("market:vertical=legal", "from_day: Field required"),
    ("market:vertical=legal,from_day=-3", "from_day '-3' is neither a day index"),
    ("market:vertical=legal,from_day=soon", "from_day 'soon' is neither a day index"),
    ("market:vertical=legal,from_day=3,price_factor=0", "price_factor: Input should be greater"),
    ("market:vertical=legal,from_day=3,factor=2", "factor: Extra inputs are not permitted"),
    ("market:vertical,from_day=3", "'vertical' is not field=value"),
    ("market:from_day=3,from_day=4", "from_day is given twice"),
    ("signup_mix:from_day=3", "names exactly one of vertical, country or tier (got none)"),
    ("signup_mix:from_day=3,tier=smb,country=US", "exactly one of vertical, country or tier"),
    ("tracking_outage:from_day=3,share=1.5", "share: Input should be less than or equal to 1"),
])
def test_bad_spellings_say_what_is_wrong(spelling, message):
    with pytest.raises(ConfigError) as e:
        shocks.parse(spelling)
    assert str(e.value).startswith(f"invalid --shock {spelling!r}: ")
    assert message in str(e.value)


@pytest.mark.parametrize("args, message", [
    (["--shock", "market:vertical=retail,from_day=20"],
     "error: invalid --shock 'market:vertical=retail,from_day=20': vertical: Input should be"),
    (["--shock", "market:vertical=legal,from_day=45"],
     "shock's from_day 45 is outside the 45-day history from 2025-09-22"),
    (["--shock", "tracking_outage:from_day=2025-09-01"],
     "from_day 2025-09-01 is outside the 45-day history"),
    (["--shock", "signup_mix:vertical=legal,from_day=3"], "set signup_share > 0"),
    (["--signup-share", "1"], "invalid signup_share: Input should be less than 1"),
])
def test_cli_refuses_bad_shocks_in_one_line(tmp_path, args, message):
    root = tmp_path / "root"
    result = CliRunner().invoke(app, ["world", "generate", "--scale", "tiny", "--root", str(root),
                                      *args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert not root.exists()
