"""The guidance service on the shared Ray cluster, through a real gRPC channel as a client.

By default the tests talk to Serve's gRPC proxy. With RAY_SERVE_THROUGHPUT_OPTIMIZED=1 in the
environment (set before the cluster starts: `make test` runs this module a second time so),
they talk to the ingress replica's own port instead (direct ingress), found as a load balancer
finds it, and again after that replica is killed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
import uuid

import grpc
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import torch
from grpc_health.v1 import health_pb2, health_pb2_grpc
from ray import serve
from typer.testing import CliRunner

from cli.main import app as cli
from pipelines.brief.core import BriefConfig, words
from pipelines.brief.job import brief_for
from pipelines.context.online import campaign_context
from pipelines.domain.vocabulary import SURFACE_INDEX
from pipelines.feedback import Impression, RankerInput
from pipelines.feedback.log import open_log
from pipelines.feedback.records import decode, from_table
from pipelines.promotion.promote import PromoteConfig, promote
from pipelines.registry import store
from pipelines.storage.root import Root
from serving import auth
from serving.app import deploy, direct_ingress_port
from serving.client import free_port
from serving.config import ServeConfig
from serving.gen.guidance.v1 import guidance_pb2 as pb
from serving.gen.guidance.v1 import guidance_pb2_grpc as pb_grpc
from serving.ranker import RankerCore, SnapshotMismatch
from serving.run import watch_step
from serving.service import GuidanceService
from tests.integration.load import clients

DIRECT = os.environ.get("RAY_SERVE_THROUGHPUT_OPTIMIZED") == "1"
SURFACES = ("SURFACE_ADS_MANAGER", "SURFACE_BUSINESS_ASSISTANT", "SURFACE_NOTIFICATION",
            "SURFACE_SALES_WORKFLOW")


@pytest.fixture(scope="module")
def service(served_root):
    root = Root(served_root)
    adv = root.read_table("snapshots/s1/online/advertisers").to_pandas()
    live = adv[(adv.live_campaigns > 0) & adv.notifications_opt_in.astype(bool)]
    ids = live.advertiser_id.sort_values().tolist()
    # a ranker that raises for a bug fails the request here, where it would only degrade it
    cfg = ServeConfig(root=served_root, grpc_port=free_port(), ranker="deployment",
                      ranking_timeout_s=2.0, degrade_on_ranker_error=False)
    version = deploy(cfg)
    tokens = {
        "all": auth.create(root, "tests", [], all_advertisers=True),
        "one": auth.create(root, "one account", [ids[0]]),
        "book": auth.create(root, "rep", ids[:6], book="rep-1"),
    }
    service = {"cfg": cfg, "root": root, "ids": ids, "version": version, "tokens": tokens}
    _connect(service)
    yield service
    service["channel"].close()
    serve.shutdown()


def _connect(service):
    """(Re)open the client channel: to the proxy, or to the ingress replica's own port."""
    if "channel" in service:
        service["channel"].close()
    port = direct_ingress_port() if DIRECT else service["cfg"].grpc_port
    service["address"] = f"localhost:{port}"
    service["channel"] = grpc.insecure_channel(service["address"])
    service["stub"] = pb_grpc.GuidanceServiceStub(service["channel"])


def _md(service, which="all"):
    return (("authorization", f"Bearer {service['tokens'][which]}"),)


def _recommend(service, advertiser, surface="SURFACE_ADS_MANAGER", which="all", **kw):
    req = pb.RecommendRequest(advertiser_id=advertiser, surface=pb.Surface.Value(surface), **kw)
    return service["stub"].Recommend(req, metadata=_md(service, which), timeout=30)


def _check_item(item, rank):
    assert item.recommendation_id and item.title and item.action_type and item.category
    assert item.campaign_id > 0 and item.rank == rank
    assert 0 <= item.adoption_probability <= 1 and 0 <= item.dismissal_probability <= 1
    imp = item.expected_impact
    assert imp.unit == "conversions per 14 days" and imp.low <= imp.expected <= imp.high
    assert 0 < item.propensity <= 1 and item.score_uplift >= 0
    assert all(r.signal and r.sentence for r in item.reasons)


def test_recommend_on_every_surface(service):
    for i, surface in enumerate(SURFACES):
        r = _recommend(service, service["ids"][i + 1], surface)
        assert r.advertiser_id == service["ids"][i + 1] and r.slate_id
        assert r.model_version == service["version"] and not r.degraded
        assert 0 <= r.guidance_score <= 100
        assert 1 <= len(r.items) <= 5, surface
        for rank, item in enumerate(r.items, start=1):
            _check_item(item, rank)
        assert len({(x.campaign_id, x.item_id) for x in r.items}) == len(r.items)


def test_every_served_item_is_logged_with_its_propensity(service):
    r = _recommend(service, service["ids"][5], max_items=4)
    log = open_log(service["cfg"].log_uri())
    for item in r.items:
        imp = log.impression(item.recommendation_id)
        assert imp is not None and imp.position == item.rank
        assert imp.propensity == pytest.approx(item.propensity)
        assert imp.model_version == service["version"]


def test_context_and_book(service):
    ctx = service["stub"].GetContext(pb.GetContextRequest(
        advertiser_id=service["ids"][0], include_campaigns=True), metadata=_md(service, "one"))
    sources = [g.source for g in ctx.groups]
    assert "account" in sources and ctx.campaigns and ctx.as_of and ctx.snapshot == "s1"
    assert all(s.sentence for g in ctx.groups for s in g.signals)

    book = service["stub"].RecommendForBook(pb.RecommendForBookRequest(items_per_account=2),
                                            metadata=_md(service, "book"), timeout=60)
    got = [a.advertiser_id for a in book.accounts]
    assert set(got) <= set(service["ids"][:6]) and len(got) == 6
    impact = [a.available_impact for a in book.accounts]
    assert impact == sorted(impact, reverse=True)
    assert all(len(a.items) <= 2 for a in book.accounts)


def test_brief_of_an_account(service):
    """The brief the service answers from memory is the one the context layer computes from
    the raw tables; within its budget; its recommendations preview the assistant's slate and
    log nothing."""
    adv, root = service["ids"][22], service["root"]
    log = open_log(service["cfg"].log_uri())
    before = len(log.history(adv, 0)[0])
    r = service["stub"].GetBrief(pb.GetBriefRequest(advertiser_id=adv, max_words=80),
                                 metadata=_md(service), timeout=30)
    assert r.advertiser_id == adv and r.snapshot == "s1" and r.as_of
    assert r.items and r.words == sum(words(it.line) for it in r.items) <= 80
    for it in r.items:
        assert it.sentence and it.sentence in it.line[0].lower() + it.line[1:]
        assert (it.campaign_id > 0) == (it.level == "campaign")
    want = brief_for(root, adv, version="s1", cfg=BriefConfig(words=80)).items
    assert [(it.signal, it.campaign_id, it.value, it.score, it.line, tuple(it.bears_on))
            for it in r.items] == [(w.signal, w.campaign_id or 0, w.value, w.score, w.line,
                                    w.bears_on) for w in want]
    assert [it.HasField("past_value") for it in r.items] == [w.past_value is not None
                                                             for w in want]
    assert 1 <= len(r.recommendations) <= 3 and r.model_version == service["version"]
    for rank, item in enumerate(r.recommendations, start=1):
        assert item.rank == rank and not item.recommendation_id and item.propensity == 0
        assert item.title in r.text
    none = service["stub"].GetBrief(pb.GetBriefRequest(advertiser_id=adv, max_recommendations=0),
                                    metadata=_md(service), timeout=30)
    assert not none.recommendations and none.guidance_score == pytest.approx(r.guidance_score)
    assert len(log.history(adv, 0)[0]) == before  # nothing was shown
    # the account's slate on the assistant, asked now, has the brief's guidance score
    slate = _recommend(service, adv, "SURFACE_BUSINESS_ASSISTANT")
    assert slate.guidance_score == pytest.approx(r.guidance_score)


def test_explain_a_served_recommendation(service):
    adv = service["ids"][23]
    r = _recommend(service, adv, "SURFACE_BUSINESS_ASSISTANT", max_items=3)
    assert r.items
    for item in r.items:
        e = service["stub"].Explain(pb.ExplainRequest(recommendation_id=item.recommendation_id),
                                    metadata=_md(service), timeout=30)
        for name in ("recommendation_id", "action_type", "category", "campaign_id", "item_id",
                     "title", "description", "parameters", "reasons", "adoption_probability",
                     "dismissal_probability", "expected_impact", "rank", "propensity"):
            assert getattr(e, name) == getattr(item, name), name
        assert (e.advertiser_id, e.surface, e.slate_id) == (adv, r.surface, r.slate_id)
        assert e.model_version == r.model_version and e.model_snapshot == e.snapshot == "s1"
        assert e.policy == "guidance-business_assistant" and not e.degraded
        assert e.served_at.ToDatetime().date().isoformat() == e.as_of
    out = CliRunner().invoke(cli, ["explain", "--recommendation", r.items[0].recommendation_id,
                                   "--address", service["address"],
                                   "--token", service["tokens"]["all"]])
    assert out.exit_code == 0 and r.items[0].title in out.stdout, out.output
    bad = CliRunner().invoke(cli, ["explain", "--recommendation", "nope", "--address",
                                   service["address"], "--token", service["tokens"]["all"]])
    assert bad.exit_code == 2 and "NOT_FOUND" in bad.output
    assert len(bad.output.strip().splitlines()) == 1


def test_an_empty_slate_says_why(service):
    adv = service["root"].read_table("snapshots/s1/online/advertisers").to_pandas()
    opted_out = adv[(adv.live_campaigns > 0) & ~adv.notifications_opt_in.astype(bool)]
    r = _recommend(service, int(opted_out.advertiser_id.min()), "SURFACE_NOTIFICATION")
    assert not r.items and r.empty_reason == "opted_out" and r.empty_message
    # a notification a day: the second one of the day finds the cap reached
    first = _recommend(service, service["ids"][24], "SURFACE_NOTIFICATION")
    assert first.items and (first.empty_reason, first.empty_message) == ("", "")
    second = _recommend(service, service["ids"][24], "SURFACE_NOTIFICATION")
    assert not second.items and second.empty_reason == "daily_cap_reached"
    assert second.empty_message


def test_feedback_is_idempotent_and_feeds_the_cool_down(service):
    adv = service["ids"][6]
    first = _recommend(service, adv, "SURFACE_SALES_WORKFLOW", max_items=5)
    item = first.items[0]
    event = pb.LogFeedbackRequest(event_id=uuid.uuid4().hex, recommendation_id=item.recommendation_id,
                                  type=pb.FEEDBACK_TYPE_DISMISSED,
                                  dismiss_reason=pb.DISMISS_REASON_NOT_RELEVANT)
    stub = service["stub"]
    assert not stub.LogFeedback(event, metadata=_md(service)).duplicate
    assert stub.LogFeedback(event, metadata=_md(service)).duplicate
    changed = pb.LogFeedbackRequest(event_id=event.event_id, recommendation_id=item.recommendation_id,
                                    type=pb.FEEDBACK_TYPE_APPLIED)
    with pytest.raises(grpc.RpcError) as e:
        stub.LogFeedback(changed, metadata=_md(service))
    assert e.value.code() == grpc.StatusCode.ALREADY_EXISTS
    _, events = open_log(service["cfg"].log_uri()).history(adv, 0)
    assert [ev.event_id for ev in events].count(event.event_id) == 1
    again = _recommend(service, adv, "SURFACE_SALES_WORKFLOW", max_items=20)
    assert (item.campaign_id, item.item_id) not in {(x.campaign_id, x.item_id) for x in again.items}


def _code(fn):
    try:
        fn()
    except grpc.RpcError as e:
        assert "Traceback" not in (e.details() or "") and e.details()
        return e.code()
    return grpc.StatusCode.OK


def test_error_statuses(service):
    s, ids, C = service["stub"], service["ids"], grpc.StatusCode
    rec = lambda md, **kw: lambda: s.Recommend(pb.RecommendRequest(**kw), metadata=md,  # noqa: E731
                                               timeout=30)
    ok = dict(advertiser_id=ids[0], surface=pb.SURFACE_ADS_MANAGER)
    fb = lambda md, **kw: lambda: s.LogFeedback(pb.LogFeedbackRequest(**kw), metadata=md)  # noqa: E731
    brief = lambda md, **kw: lambda: s.GetBrief(pb.GetBriefRequest(**kw), metadata=md,  # noqa: E731
                                                timeout=30)
    explain = lambda md, **kw: lambda: s.Explain(pb.ExplainRequest(**kw), metadata=md)  # noqa: E731
    cases = [
        (rec(_md(service), surface=1), C.INVALID_ARGUMENT),  # no advertiser
        (rec(_md(service), advertiser_id=-1, surface=1), C.INVALID_ARGUMENT),
        (rec(_md(service), advertiser_id=ids[0]), C.INVALID_ARGUMENT),  # no surface
        (rec(_md(service), **ok, max_items=99), C.INVALID_ARGUMENT),
        (rec(_md(service), **ok, campaign_id=-3), C.INVALID_ARGUMENT),
        (fb(_md(service), recommendation_id="x", type=pb.FEEDBACK_TYPE_APPLIED), C.INVALID_ARGUMENT),
        (fb(_md(service), event_id="e", recommendation_id="x", type=pb.FEEDBACK_TYPE_DISMISSED),
         C.INVALID_ARGUMENT),
        (rec(_md(service), advertiser_id=99_999_999, surface=1), C.NOT_FOUND),
        (rec(_md(service), **ok, campaign_id=1), C.NOT_FOUND),
        (fb(_md(service), event_id="e", recommendation_id="nope", type=pb.FEEDBACK_TYPE_SHOWN),
         C.NOT_FOUND),
        (rec((), **ok), C.UNAUTHENTICATED),
        (rec((("authorization", "Bearer not-a-token"),), **ok), C.UNAUTHENTICATED),
        (rec(_md(service, "one"), advertiser_id=ids[1], surface=1), C.PERMISSION_DENIED),
        (lambda: s.RecommendForBook(pb.RecommendForBookRequest(advertiser_ids=[ids[7]]),
                                    metadata=_md(service, "book")), C.PERMISSION_DENIED),
        (lambda: s.GetContext(pb.GetContextRequest(advertiser_id=ids[2]),
                              metadata=_md(service, "one")), C.PERMISSION_DENIED),
        (lambda: s.Recommend(pb.RecommendRequest(**ok), metadata=_md(service), timeout=0.0005),
         C.DEADLINE_EXCEEDED),
        (brief(_md(service)), C.INVALID_ARGUMENT),  # no advertiser
        (brief(_md(service), advertiser_id=ids[0], max_words=10), C.INVALID_ARGUMENT),
        (brief(_md(service), advertiser_id=99_999_999), C.NOT_FOUND),
        (brief(_md(service, "one"), advertiser_id=ids[1]), C.PERMISSION_DENIED),
        (brief((), advertiser_id=ids[0]), C.UNAUTHENTICATED),
        (explain(_md(service), recommendation_id=""), C.INVALID_ARGUMENT),
        (explain(_md(service), recommendation_id="nope"), C.NOT_FOUND),
    ]
    assert [_code(fn) for fn, _ in cases] == [want for _, want in cases]
    # another advertiser's recommendation cannot be given feedback with a one-account token
    other = _recommend(service, ids[3]).items[0].recommendation_id
    assert _code(fb(_md(service, "one"), event_id="e2", recommendation_id=other,
                    type=pb.FEEDBACK_TYPE_CLICKED)) == C.PERMISSION_DENIED
    # nor explained
    assert _code(explain(_md(service, "one"), recommendation_id=other)) == C.PERMISSION_DENIED


def test_health_check(service):
    health = health_pb2_grpc.HealthStub(service["channel"])
    r = health.Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert r.status == health_pb2.HealthCheckResponse.SERVING


def _replica_pids(deployment: str) -> list[int]:
    """Process ids of a deployment's replicas, asked of the replica actors themselves."""
    import ray

    pids = []
    for actor in ray.util.list_named_actors(all_namespaces=True):
        if f"#{deployment}#" in actor["name"]:
            handle = ray.get_actor(actor["name"], namespace=actor["namespace"])
            pids.append(ray.get(handle.__ray_call__.remote(lambda self: os.getpid())))
    assert pids, f"no replica of {deployment}"
    return pids


def _hammering(service, threads: int):
    """`threads` clients sending Recommend (accounts ids[8:16], sales surface) until the block
    ends; yields (failures: status codes, seen: (model version, degraded) per answer)."""
    def call(i):
        r = _recommend(service, service["ids"][8 + i % 8], "SURFACE_SALES_WORKFLOW", max_items=1)
        return r.model_version, r.degraded

    return clients(call, threads)


def _wait_for(condition, timeout_s: float) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline and not condition():
        time.sleep(0.2)


def test_degraded_when_the_ranker_dies(service):
    with _hammering(service, threads=2) as (failures, seen):
        for pid in _replica_pids("Ranker"):
            os.kill(pid, signal.SIGKILL)
        _wait_for(lambda: any(d for _, d in seen), 60)
    assert not failures
    assert any(d for _, d in seen), "no degraded answer while the ranker was down"


def test_hot_swap_under_load_fails_no_request(service):
    root = service["root"]
    meta, files = store.load(root)
    new = store.publish(root, files, {k: v for k, v in meta.items()
                                      if k not in ("files", "version")},
                        version=f"{meta['version']}-b")
    assert watch_step(service["cfg"], service["version"]) == service["version"]  # a candidate
    # the same model again: promoted as such (tests/integration/test_promotion.py gates one)
    promote(PromoteConfig(root=root.uri, version=new, force=True, reason="same files, new name"))
    before = _replica_pids("GuidanceIngress")
    with _hammering(service, threads=3) as (failures, seen):
        assert watch_step(service["cfg"], service["version"]) == new
        _wait_for(lambda: any(v == new for v, _ in seen[-5:]), 90)
        time.sleep(1)
    assert not failures, failures[:3]
    assert seen[-1][0] == new
    assert _replica_pids("GuidanceIngress") == before  # reconfigured in place, not restarted
    service["version"] = new


def test_acknowledged_feedback_survives_a_sigkilled_replica(service):
    # ids[8:16] are hammered on the sales surface by the tests above, which spends their daily
    # cap and re-show window; this account has been shown nothing yet.
    adv = service["ids"][7]
    slate = _recommend(service, adv, "SURFACE_SALES_WORKFLOW", max_items=3)
    assert slate.items, f"no item for account {adv}"
    rec = slate.items[0].recommendation_id
    acked, stop = [], threading.Event()

    def send():
        while not stop.is_set():
            eid = uuid.uuid4().hex
            try:
                service["stub"].LogFeedback(pb.LogFeedbackRequest(
                    event_id=eid, recommendation_id=rec, type=pb.FEEDBACK_TYPE_SHOWN),
                    metadata=_md(service), timeout=10)
                acked.append(eid)
            except grpc.RpcError:
                pass

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    while len(acked) < 50:
        time.sleep(0.05)
    for pid in _replica_pids("GuidanceIngress"):
        os.kill(pid, signal.SIGKILL)
    time.sleep(1)
    stop.set()
    for t in threads:
        t.join()
    _, events = open_log(service["cfg"].log_uri()).history(adv, 0)
    logged = {e.event_id for e in events}
    assert set(acked) <= logged
    # the service comes back (with direct ingress, on the new replica's port)
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if DIRECT:
                _connect(service)
            _recommend(service, service["ids"][10])
            break
        except (grpc.RpcError, TimeoutError):
            time.sleep(0.5)
    else:
        pytest.fail("the ingress did not come back")


def test_cli_recommend(service):
    addr = service["address"]
    out = CliRunner().invoke(cli, ["recommend", "--advertiser", str(service["ids"][11]),
                                   "--address", addr, "--token", service["tokens"]["all"]])
    assert out.exit_code == 0, out.output
    assert f"advertiser {service['ids'][11]} on ads_manager" in out.stdout
    bad = CliRunner().invoke(cli, ["recommend", "--advertiser", "5", "--address", addr,
                                   "--token", "nope"])
    assert bad.exit_code == 2 and "UNAUTHENTICATED" in bad.output
    assert len(bad.output.strip().splitlines()) == 1


def _logged_inputs(log, recommendation_ids: list[str]) -> pa.Table:
    table = log.window(RankerInput, 0, 2**62)
    return table.filter(pc.is_in(table["recommendation_id"], pa.array(recommendation_ids)))


def _loaded_core(root: Root, version: str) -> RankerCore:
    threads = torch.get_num_threads()  # a CPU RankerCore pins torch to one thread
    try:
        meta, files = store.load(root, version)
        return RankerCore(version, files, campaign_context(root, meta["snapshot"]))
    finally:
        torch.set_num_threads(threads)


def test_the_ranker_deployment_s_inputs_are_logged_beside_the_slate(service):
    r = _recommend(service, service["ids"][20], max_items=4)
    assert r.items and not r.degraded
    ids = [item.recommendation_id for item in r.items]
    log = open_log(service["cfg"].log_uri())
    table = _logged_inputs(log, ids)
    inputs = {x.recommendation_id: x for x in from_table(RankerInput, table)}
    assert sorted(inputs) == sorted(ids)
    for item in r.items:
        imp, got = log.impression(item.recommendation_id), inputs[item.recommendation_id]
        assert got.model_version == r.model_version == imp.model_version
        for name in ("advertiser_id", "campaign_id", "item_id", "action_type", "surface",
                     "served_at_ms", "p_adopt", "p_dismiss", "impact_low", "impact_expected",
                     "impact_high"):
            assert getattr(got, name) == getattr(imp, name), name
        assert got.p_adopt == pytest.approx(item.adoption_probability)
    # the logged rows are what the model was given: run again, they give the served numbers,
    core = _loaded_core(service["root"], r.model_version)
    numeric, categorical = decode(table)
    assert numeric.shape[1] == core.loaded.spec.n_numeric
    out = core.forward({"numeric": numeric.copy(), "categorical": categorical.astype(np.int64),
                        "position": np.zeros(len(table), np.int64),
                        "surface": np.array([SURFACE_INDEX[s] for s in
                                             table["surface"].to_pylist()], np.int64)})
    np.testing.assert_allclose(out["p_adopt"], table["p_adopt"].to_numpy(), rtol=1e-5)
    np.testing.assert_allclose(out["p_dismiss"], table["p_dismiss"].to_numpy(), rtol=1e-5)
    np.testing.assert_allclose(out["impact"][:, 1], table["impact_expected"].to_numpy(),
                               rtol=1e-5)
    # and outside the candidate's own columns they are their campaign's encoded context
    row = np.searchsorted(core.campaign_ids, table["campaign_id"].to_numpy())
    own = [j for _, j, flag, *_ in core.encoder.numeric for j in (j, flag) if j is not None]
    context = np.setdiff1d(np.arange(numeric.shape[1]), own)
    np.testing.assert_array_equal(numeric[:, context], core.context_numeric[row][:, context])
    context = np.setdiff1d(np.arange(categorical.shape[1]),
                           [j for _, j, _ in core.encoder.categorical])
    np.testing.assert_array_equal(categorical[:, context],
                                  core.context_categorical[row][:, context])


async def _ranker_away(campaign_ids, candidates, *with_inputs):
    raise SnapshotMismatch("a ranker serving another snapshot")


def test_in_process_the_very_vector_is_logged_and_a_share_of_0_logs_none(service, tmp_path):
    """The local ranker in this process: the logged rows equal RankerCore.inputs of the
    planned candidates that were served. With ranker_input_share 0, or when the ranker is away
    and the answer degraded, the impressions are logged and no input."""
    threads = torch.get_num_threads()
    adv, logged = service["ids"][21], {}
    try:
        for case, share, remote in (("all", 1.0, None), ("none", 0.0, None),
                                    ("degraded", 1.0, _ranker_away)):
            cfg = ServeConfig(root=service["root"].uri, ranker="local",
                              feedback_log=f"sqlite:///{tmp_path}/log-{case}.db",
                              ranker_input_share=share, degrade_on_ranker_error=False)
            svc = GuidanceService(cfg, remote)
            svc.load(service["version"])
            state = svc.state
            plan = state.engine.plan(adv, 0, "ads_manager", 4, state.now_ms())
            result, _ = asyncio.run(svc._slate(state, plan, svc._log_inputs()))
            ids = [item["recommendation_id"] for item in result["items"]]
            assert ids and bool(result["degraded"]) == (case == "degraded")
            assert [r.recommendation_id for r in from_table(
                Impression, svc.log.window(Impression, 0, 2**62))] == ids
            logged[case] = (svc, plan, ids, _logged_inputs(svc.log, ids))
            if case == "all":
                counts = svc.log.export(Root(str(tmp_path / "export")))
                assert counts["ranker_inputs"] == len(ids)
            svc.log.close()
    finally:
        torch.set_num_threads(threads)
    assert logged["none"][3].num_rows == 0 and logged["degraded"][3].num_rows == 0
    svc, plan, ids, table = logged["all"]
    assert table["recommendation_id"].to_pylist() == ids  # one time: in key order, = rank order
    want = svc.state.ranker.inputs(plan.campaign_id, plan.features)
    scored = svc.state.ranker.forward(want)
    rows = [int(np.flatnonzero((plan.campaign_id == c) & (plan.item_id == i))[0])
            for c, i in zip(table["campaign_id"].to_pylist(), table["item_id"].to_pylist())]
    numeric, categorical = decode(table)
    np.testing.assert_array_equal(numeric, want["numeric"][rows])
    np.testing.assert_array_equal(categorical, want["categorical"][rows])
    np.testing.assert_array_equal(table["p_adopt"].to_numpy(), scored["p_adopt"][rows])
    np.testing.assert_array_equal(
        np.c_[table["impact_low"], table["impact_expected"], table["impact_high"]],
        scored["impact"][rows])
    exported = Root(str(tmp_path / "export")).read_table("feedback/ranker_inputs")
    np.testing.assert_array_equal(decode(exported)[0], numeric)


def test_exported_log_is_a_table(service):
    log = open_log(service["cfg"].log_uri())
    counts = log.export(service["root"])
    assert counts["impressions"] > 0 and counts["events"] > 0
    t = pd.read_parquet(service["root"].join("feedback", "impressions"))
    assert {"recommendation_id", "propensity", "surface"} <= set(t.columns)
