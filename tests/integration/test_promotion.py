"""Publish apart from promote, on the shared Ray cluster through a real gRPC channel: a candidate
that fails a gate is refused and the running service keeps serving the version it served; one
that passes is swapped in with clients running, and no request fails."""

from __future__ import annotations

import io
import time

import grpc
import pytest
import torch
from ray import serve

from pipelines.evaluation.evaluate import evaluate
from pipelines.evaluation.gates import GateConfig
from pipelines.evaluation.report import write_report
from pipelines.promotion.promote import PromoteConfig, PromotionError, history, promote
from pipelines.registry import store
from pipelines.storage.root import Root
from serving import auth
from serving.app import deploy
from serving.client import free_port
from serving.config import ServeConfig
from serving.gen.guidance.v1 import guidance_pb2 as pb
from serving.gen.guidance.v1 import guidance_pb2_grpc as pb_grpc
from serving.run import watch_step
from tests.integration.load import clients

# A tiny world's test split (about 200 impressions, 30 judged adoptions, a 2-epoch model) is too
# small to measure calibration, interval coverage, slate order or a tie with LightGBM: those
# gates are turned off here, and reported as skipped. The gate under test, non-inferiority to
# the version served, keeps the product's margin; so does the index's recall.
TINY_WORLD_GATES = GateConfig(disabled=("ece_after_calibration", "impact_interval_coverage",
                                        "slate_ndcg_beats_rules_and_popularity",
                                        "adoption_auc_vs_lightgbm"))


@pytest.fixture(scope="module")
def service(served_root, tmp_path_factory):
    root = Root(served_root)
    adv = root.read_table("snapshots/s1/online/advertisers").to_pandas()
    ids = adv[adv.live_campaigns > 0].advertiser_id.sort_values().tolist()
    log = tmp_path_factory.mktemp("promotion-log") / "log.db"  # apart from test_service's
    cfg = ServeConfig(root=served_root, grpc_port=free_port(), ranker="deployment",
                      ranking_timeout_s=2.0, feedback_log=f"sqlite:///{log}",
                      degrade_on_ranker_error=False)
    version = deploy(cfg)
    channel = grpc.insecure_channel(f"localhost:{cfg.grpc_port}")
    yield {"root": root, "cfg": cfg, "version": version, "ids": ids[-12:],
           "token": auth.create(root, "promotion tests", [], all_advertisers=True),
           "stub": pb_grpc.GuidanceServiceStub(channel)}
    channel.close()
    serve.shutdown()


def _recommend(service, advertiser: int) -> pb.RecommendResponse:
    req = pb.RecommendRequest(advertiser_id=advertiser, surface=pb.SURFACE_ADS_MANAGER,
                              max_items=1)
    return service["stub"].Recommend(req, timeout=30, metadata=(
        ("authorization", f"Bearer {service['token']}"),))


def _clients(service, threads: int):
    """`threads` clients sending Recommend until the block ends; yields (failures: status
    codes, seen: the model version of each answer)."""
    return clients(lambda i: _recommend(service, service["ids"][i % len(service["ids"])])
                   .model_version, threads)


def _reversed_ranker(files: dict[str, bytes]) -> dict[str, bytes]:
    """The same ranker with its adoption logit negated: it orders adoptions exactly backwards
    (AUC 1 − AUC), a candidate worse than the one served by construction."""
    state = torch.load(io.BytesIO(files["ranker.pt"]), map_location="cpu", weights_only=False)
    for key in ("head_w.adopt", "head_b.adopt", "position_adopt.weight"):
        state[key] = -state[key]
    buf = io.BytesIO()
    torch.save(state, buf)
    return {**files, "ranker.pt": buf.getvalue()}


def test_only_a_candidate_that_passes_the_gates_is_served(service):
    root, cfg, old = service["root"], service["cfg"], service["version"]
    assert store.current(root) == old
    meta, files = store.load(root, old)
    base = {k: v for k, v in meta.items() if k not in ("files", "version")}
    worse = store.publish(root, _reversed_ranker(files), base, version=f"{old}-reversed")
    same = store.publish(root, files, base, version=f"{old}-retrained")
    assert store.current(root) == old and watch_step(cfg, old) == old  # candidates only

    results = {}
    for version in (worse, same):
        results[version] = evaluate(root, version)
        write_report(root, results[version])
    for r in results.values():  # both scored beside the version served, on the same rows
        assert r["current_version"] == old
        assert r["ranking"]["current_adoption_auc"] == results[same]["ranking"]["adoption_auc"]
    served_auc = results[same]["ranking"]["adoption_auc"]
    assert served_auc > 0.52  # so that the reversed ranker falls past the margin
    assert results[worse]["ranking"]["adoption_auc"] == pytest.approx(1 - served_auc, abs=0.01)

    with pytest.raises(PromotionError, match=f"version {worse} not promoted: it fails "
                                             "adoption_auc_vs_current"):
        promote(PromoteConfig(root=root.uri, version=worse, gates=TINY_WORLD_GATES))
    assert store.current(root) == old
    with _clients(service, threads=2) as (failures, seen):
        assert watch_step(cfg, old) == old
        time.sleep(2)
    assert not failures and seen and set(seen) == {old}

    with _clients(service, threads=3) as (failures, seen):
        record = promote(PromoteConfig(root=root.uri, version=same, gates=TINY_WORLD_GATES))
        assert watch_step(cfg, old) == same
        deadline = time.time() + 90
        while time.time() < deadline and same not in seen[-5:]:
            time.sleep(0.2)
        time.sleep(1)
    assert not failures, failures[:3]
    assert seen[-1] == same and _recommend(service, service["ids"][0]).model_version == same
    assert not record["forced"] and record["previous"] == old
    assert {g["name"]: g["status"] for g in record["gates"]}["adoption_auc_vs_current"] == "pass"
    assert history(root)[-1] == record
    # the refused candidate's evaluation is now stale as well: it was judged against `old`
    with pytest.raises(PromotionError, match=f"evaluated while {old} was served, and {same}"):
        promote(PromoteConfig(root=root.uri, version=worse, gates=TINY_WORLD_GATES))
