"""Serving pieces that need no Ray: tokens, request validation, the split encoder, the ranker's
scoring, configs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from pipelines.errors import ConfigError
from pipelines.models import artifacts, features, train
from pipelines.models.calibration import Isotonic
from pipelines.models.ranker import MultiTaskRanker
from pipelines.policy.config import PolicyConfig
from pipelines.storage.root import Root
from serving import auth, convert
from serving.config import ServeConfig
from serving.gen.guidance.v1 import guidance_pb2 as pb
from serving.ranker import RankerCore
from serving.run import ServeOptions, load_config
from serving.status import RequestError, status_of

REPO = Path(__file__).resolve().parents[2]


def _md(token):
    return (("authorization", f"Bearer {token}"),)


def test_tokens_are_stored_hashed_and_scoped(tmp_path):
    root = Root(str(tmp_path))
    token = auth.create(root, "rep", [3, 5], book="east")
    stored = list((tmp_path / "auth" / "tokens").iterdir())
    assert len(stored) == 1 and token not in stored[0].read_text()
    assert stored[0].name == f"{auth.token_hash(token)}.json"
    store = auth.TokenStore(root)
    scope = store.scope(_md(token))
    assert scope.book == "east" and scope.allows(3) and not scope.allows(4)
    with pytest.raises(auth.ScopeError, match="may not read advertiser 4"):
        scope.check(4)
    late = auth.create(root, "created while serving", [9])  # no restart needed
    assert store.scope(_md(late)).allows(9)


@pytest.mark.parametrize("metadata, message", [
    ((), "missing bearer token"),
    ((("authorization", "Basic abc"),), "missing bearer token"),
    ((("authorization", "Bearer nope"),), "unknown bearer token"),
])
def test_bad_tokens(tmp_path, metadata, message):
    with pytest.raises(auth.AuthError, match=message):
        auth.TokenStore(Root(str(tmp_path))).scope(metadata)


@pytest.mark.parametrize("kwargs, message", [
    (dict(name="x", advertisers=[]), "needs --advertisers"),
    (dict(name=" ", advertisers=[1]), "name must not be empty"),
    (dict(name="x", advertisers=[-1]), "must be ≥ 0"),
])
def test_token_create_refuses(tmp_path, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        auth.create(Root(str(tmp_path)), **kwargs)


RECOMMEND_CASES = [
    (dict(surface=1), "advertiser_id is required"),
    (dict(advertiser_id=-4, surface=1), "advertiser_id must be an account id ≥ 0"),
    (dict(advertiser_id=5), "surface must be one of"),
    (dict(advertiser_id=5, surface=9), "surface must be one of"),
    (dict(advertiser_id=5, surface=1, max_items=21), "max_items must be between 0 and 20"),
    (dict(advertiser_id=5, surface=1, campaign_id=-1), "campaign_id must be ≥ 0"),
]


@pytest.mark.parametrize("fields, message", RECOMMEND_CASES)
def test_recommend_validation(fields, message):
    with pytest.raises(RequestError, match=message):
        convert.recommend(pb.RecommendRequest(**fields))


FEEDBACK_CASES = [
    (dict(recommendation_id="r", type=3), "event_id must be 1 to 128"),
    (dict(event_id="x" * 129, recommendation_id="r", type=3), "event_id must be 1 to 128"),
    (dict(event_id="e", type=3), "recommendation_id is required"),
    (dict(event_id="e", recommendation_id="r"), "type must be one of"),
    (dict(event_id="e", recommendation_id="r", type=4), "needs dismiss_reason"),
    (dict(event_id="e", recommendation_id="r", type=3, dismiss_reason=1), "only for"),
    (dict(event_id="e", recommendation_id="r", type=3, snooze_days=3), "only for"),
    (dict(event_id="e", recommendation_id="r", type=5, snooze_days=91), "between 0 and 90"),
]


@pytest.mark.parametrize("fields, message", FEEDBACK_CASES)
def test_feedback_validation(fields, message):
    with pytest.raises(RequestError, match=message):
        convert.feedback(pb.LogFeedbackRequest(**fields), PolicyConfig())


def test_feedback_defaults():
    snooze = convert.feedback(pb.LogFeedbackRequest(event_id="e", recommendation_id="r", type=5),
                              PolicyConfig())
    assert snooze["type"] == "snoozed" and snooze["snooze_days"] == 14
    dismiss = convert.feedback(pb.LogFeedbackRequest(event_id="e", recommendation_id="r", type=4,
                                                     dismiss_reason=3), PolicyConfig())
    assert dismiss["dismiss_reason"] == "too_expensive"


def test_book_validation():
    with pytest.raises(RequestError, match="must not repeat"):
        convert.book(pb.RecommendForBookRequest(advertiser_ids=[3, 3]))
    with pytest.raises(RequestError, match="advertiser_ids must be an account id ≥ 0"):
        convert.book(pb.RecommendForBookRequest(advertiser_ids=[-1]))
    with pytest.raises(RequestError, match="at most 200"):
        convert.book(pb.RecommendForBookRequest(advertiser_ids=list(range(1, 202))))
    assert convert.book(pb.RecommendForBookRequest())["max_accounts"] == 20


def test_unexpected_errors_hide_their_traceback():
    code, message = status_of(KeyError("secret internals"))
    assert code.name == "INTERNAL" and "secret" not in message and "reference" in message


def _examples(n: int, rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame({
        "spend_7d": rng.lognormal(3, 2, n), "ctr_7d": np.where(rng.random(n) < 0.3, np.nan,
                                                               rng.random(n)),
        "vertical": rng.choice(["apparel", "legal", None], n),
        "item_param_pct": np.where(rng.random(n) < 0.5, np.nan, 20.0),
        "entity_trending": rng.choice([1.0, 0.0, np.nan], n),
        "action_type": rng.choice(["budget_raise", "keyword_add", "unseen"], n),
        "item_entity_kind": rng.choice(["keyword", None], n),
        "surface": rng.choice(["ads_manager", "notification"], n),
        "position": np.ones(n, int),
    })


SPEC = features.FeatureSpec(
    numeric=["spend_7d", "ctr_7d", "item_param_pct", "entity_trending"],
    mean=[1.0, 0.1, 2.0, 0.3], std=[2.0, 0.2, 1.5, 0.5],
    with_missing_flag=["ctr_7d", "item_param_pct", "entity_trending"],
    categorical=["vertical", "action_type", "item_entity_kind", "surface"],
    vocab={"vertical": ["apparel", "legal"], "action_type": ["budget_raise", "keyword_add"],
           "item_entity_kind": ["keyword"], "surface": ["ads_manager", "notification"]})


def _candidates(df: pd.DataFrame) -> dict[str, np.ndarray]:
    cand = {c: df[c].to_numpy() for c in features.EXTRA_NUMERIC + features.EXTRA_CATEGORICAL
            if c in df}
    for c in features.EXTRA_NUMERIC:
        cand.setdefault(c, np.full(len(df), np.nan))
    return cand


def test_split_encoder_equals_encode():
    n, spec = 40, SPEC
    df = _examples(n, np.random.default_rng(0))
    whole = features.encode(df, spec, serving=True)
    split = features.SplitEncoder(spec)
    context = df[["spend_7d", "ctr_7d", "vertical"]].drop_duplicates().reset_index(drop=True)
    num, cat = split.context(context)
    rows = np.array([context.index[(context.spend_7d == s)][0] for s in df.spend_7d])
    got = split.rows(num, cat, rows, _candidates(df))
    np.testing.assert_allclose(got["numeric"], whole["numeric"], rtol=1e-6)
    np.testing.assert_array_equal(got["categorical"], whole["categorical"])
    np.testing.assert_array_equal(got["surface"], whole["surface"])


def test_the_ranker_serves_every_candidate_as_if_shown_first_on_its_surface():
    """What the service returns is the calibrated P(adopt) of being shown at position 1 of the
    request's surface: the probability evaluation measures on rows logged there."""
    rng = np.random.default_rng(1)
    df = _examples(30, rng).assign(campaign_id=np.arange(30), position=rng.integers(1, 4, 30))
    model = MultiTaskRanker(SPEC.n_numeric, SPEC.cardinalities, hidden=16, n_experts=2,
                            members=2)
    with torch.no_grad():  # a trained model's slots differ: give each slot its own offset
        model.position_adopt.weight.copy_(torch.linspace(-2, 2, 40).view(20, 2))
    cal = Isotonic([0.0, 1.0], [0.05, 0.9])  # strictly increasing: distinct inputs stay apart
    files = artifacts.to_files(model.state_dict(), SPEC,
                               {"hidden": 16, "experts": 2, "members": 2, "seed": 0},
                               {"adopt": cal, "dismiss": cal})
    threads = torch.get_num_threads()
    try:
        core = RankerCore("v1", files, df[["campaign_id", "spend_7d", "ctr_7d", "vertical"]])
        served = core.score(df.campaign_id.to_numpy(), _candidates(df))["p_adopt"]
    finally:
        torch.set_num_threads(threads)
    loaded = core.loaded.model
    at_top = train.predict(loaded, df.assign(position=1), SPEC)["adopt"]
    np.testing.assert_allclose(served, cal(at_top), rtol=1e-5)
    np.testing.assert_allclose(train.predict(loaded, df, SPEC, at_top=True)["adopt"], at_top)
    lower = df.position.to_numpy() > 1
    assert not np.allclose(train.predict(loaded, df, SPEC)["adopt"][lower], at_top[lower])


def test_serve_config_file_is_valid():
    from ray.serve.schema import ServeDeploySchema

    text = yaml.safe_load((REPO / "serving" / "serve_config.yaml").read_text())
    schema = ServeDeploySchema(**text)
    app = schema.applications[0]
    assert app.import_path == "serving.app:app_builder" and app.route_prefix == "/"
    ServeConfig(**app.args)
    cfg = load_config(ServeOptions(root="/data", config=str(REPO / "serving" / "serve_config.yaml"),
                                   port=9100))
    assert cfg.root == "/data" and cfg.grpc_port == 9100 and cfg.ranker == "deployment"


def test_a_new_model_version_changes_only_user_config():
    """Serve reconfigures replicas in place only when an app's code version (import path,
    args, ...) stays the same; the model version must not reach the args."""
    from ray.serve._private.deploy_utils import get_app_code_version

    from serving.app import deploy_schema

    cfg = ServeConfig(root="/data", model_version="v1")
    old, new = (deploy_schema(cfg, v).applications[0] for v in ("v1", "v2"))
    assert get_app_code_version(old) == get_app_code_version(new)
    assert [d.user_config["model_version"] for d in new.deployments] == ["v2", "v2"]
    assert {d.name for d in new.deployments} == {"GuidanceIngress", "Ranker"}
    ServeConfig(**new.args)
    local = deploy_schema(cfg.model_copy(update={"ranker": "local"}), "v2").applications[0]
    assert [d.name for d in local.deployments] == ["GuidanceIngress"]


def test_serve_config_refuses_a_gpu_in_the_ingress():
    with pytest.raises(ValueError, match="ranker_gpus needs ranker: deployment"):
        ServeConfig(root="x", ranker="local", ranker_gpus=1)


def _plan(n: int = 3):
    from serving.engine import Plan

    z = np.zeros(n)
    return Plan(advertiser_id=1, surface="ads_manager", k=2, now_ms=0, camp_row=z.astype(int),
                campaign_id=np.arange(n), item_id=np.arange(n), catalog_row=np.arange(n),
                action_type=np.full(n, "budget_raise"), category=np.full(n, "budget"),
                retrieval_sim=np.full(n, np.nan),
                features={"same_category_adoption_rate_90d": np.full(n, 0.2),
                          "same_category_dismissal_rate_90d": np.full(n, np.nan)},
                captured=0.0)


def _service(tmp_path, error: BaseException, **cfg):
    import types

    from serving.engine import Engine
    from serving.service import GuidanceService

    async def ranker(campaign_ids, candidates):
        raise error

    service = GuidanceService(ServeConfig(root=str(tmp_path), **cfg), ranker)
    return service, types.SimpleNamespace(engine=Engine, version="v1", ranker=None)


def _scores(service, state):
    import asyncio

    return asyncio.run(service._scores(state, _plan()))


@pytest.mark.parametrize("error, kind", [
    (TypeError("a bug in the ranker"), "ranker_error"),
    (KeyError("surface"), "ranker_error"),
])
def test_a_ranker_bug_degrades_loudly_or_fails_the_request(tmp_path, caplog, error, kind):
    service, state = _service(tmp_path, error)
    with caplog.at_level("ERROR", logger="guidance.serving"):
        scores, version, reason = _scores(service, state)
    assert reason == f"ranker error ({type(error).__name__})" and version == "v1"
    assert service.degraded == {kind: 1}
    assert [r.exc_info[0] for r in caplog.records] == [type(error)]
    assert scores["p_adopt"].tolist() == [0.2] * 3  # the fallback's own rates
    strict, state = _service(tmp_path, error, degrade_on_ranker_error=False)
    with pytest.raises(type(error)):
        _scores(strict, state)
    assert strict.degraded == {}


def test_an_outage_of_the_ranker_degrades_even_when_bugs_fail(tmp_path):
    import ray.exceptions

    from serving.ranker import SnapshotMismatch

    outage = ray.exceptions.RayTaskError("score", "traceback", SnapshotMismatch("mid-swap"))
    service, state = _service(tmp_path, outage, degrade_on_ranker_error=False)
    _, _, reason = _scores(service, state)
    assert reason == "ranker unavailable (SnapshotMismatch)"
    assert service.degraded == {"ranker_unavailable": 1}
