"""Serving overhead: `Recommend` QPS and p50/p95/p99 latency at several concurrency levels, for
the same request handled in-process, behind a plain `grpc.aio` server without Ray (the
baseline of the ratios), and behind Ray Serve (gRPC proxy with the ranker in the ingress or in
its own deployment; direct ingress with `RAY_SERVE_THROUGHPUT_OPTIMIZED=1`, on the replica's
own port and through the proxy), for a ~20k item catalog (the small world) and a ~1M one.

    .venv/bin/python benchmarks/serve.py [--root DIR] [--levels 1 2 4 8 16 32] [--seconds 8]
                                         [--warmup 2] [--catalogs 20k 1m] [--quick] [--json]

The bench root (default `.guidance/bench-serve`) is built once and reused: the small world
(seed 7), a snapshot and a model trained for 2 epochs; the 1M case is a second root under
`<root>/bench/serve-1m` sharing its tables, whose catalog and registry version add ~1M
synthetic keyword items (embeddings: existing keyword/interest embeddings plus noise) with an
IVF index. Figures are also written to `<root>/reports/bench/serve.json`.

Every setup runs in its own process (each Serve setup with its own local Ray,
`num_cpus=2`), one after the other. The load generator is one asyncio `grpc.aio` client
process and shares the machine's cores with the server: on 2 cores its CPU time is part of the
figures (printed as client ms of CPU per request). This VM's CPU speed also drifts by up to 2×
from minute to minute with no load of ours: each level prints a fixed loop's time (`probe`)
taken around it, so a slow cell can be told from a slow host.

Each setup gets a fresh feedback log, and the bench policy raises the Ads Manager and sales
workflow daily caps and drops the 3-day re-show cool-down, so that thousands of requests a
minute for 2,000 advertisers keep getting full slates (every request does the whole work:
plan, rank, slate, log); the share of empty slates is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import itertools
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.registry import store  # noqa: E402
from pipelines.storage.root import Root  # noqa: E402
from serving.client import free_port, wait_healthy  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TARGET_P99_MS = 50.0  # at 1M items, at the highest concurrency that keeps it
TARGET_SERVE_SHARE = 0.30  # Serve's best QPS against the plain grpc.aio server's
BIG_ITEMS = 1_000_000  # entity items of the large catalog
SYNTHETIC_BASE = 3_000_000  # synthetic keyword item ids: above interests, below products
SURFACES = (("SURFACE_ADS_MANAGER", 0.75), ("SURFACE_SALES_WORKFLOW", 0.25))
BENCH_CAP = 1000  # daily cap per advertiser and surface in the bench policy


# -- bench data ------------------------------------------------------------------------------

def base_root(path: str) -> str:
    """The small world with a snapshot and a registered model under `path` (built once)."""
    root = Root(path)
    if root.exists("registry/current"):
        return store.current(root)
    from pipelines.labels.config import PrepareConfig
    from pipelines.labels.prepare import prepare
    from pipelines.models.config import TrainConfig
    from pipelines.models.job import fit_and_register
    from pipelines.world.config import WorldConfig
    from pipelines.world.job import generate

    started = time.perf_counter()
    if not root.exists("raw/catalog"):
        generate(WorldConfig(scale="small", seed=7, root=path), show_progress=False)
    if not root.exists("snapshots"):
        prepare(PrepareConfig(root=path, version="s1"), show_progress=False)
    version = fit_and_register(TrainConfig(root=path, epochs=2))["version"]
    _promote(path, version)
    print(f"built the small world, snapshot and model in {time.perf_counter() - started:.0f} s",
          flush=True)
    return version


def _promote(path: str, version: str) -> None:
    """Serve a bench root's version as built: it measures throughput, not model quality, so it
    is promoted without an evaluation (forced, and recorded as such)."""
    from pipelines.promotion.promote import PromoteConfig, promote

    promote(PromoteConfig(root=path, version=version, force=True,
                          reason="benchmark root: served as built, not evaluated"))


def _link_tables(base: Path, big: Path) -> None:
    """The big root shares every table of the base root but the catalog (symlinks)."""
    (big / "raw").mkdir(parents=True, exist_ok=True)
    for entry in (base / "raw").iterdir():
        if entry.name != "catalog" and not (big / "raw" / entry.name).exists():
            (big / "raw" / entry.name).symlink_to(entry.resolve(), target_is_directory=True)
    if not (big / "snapshots").exists():
        (big / "snapshots").symlink_to((base / "snapshots").resolve(), target_is_directory=True)


def _context_queries(root: Root, meta: dict, files: dict, n: int, rng) -> np.ndarray:
    """Context-tower embeddings of `n` random (campaign, surface) pairs: the queries the
    service sends to the index, to choose nprobe for and measure recall with."""
    from pipelines.world.calibration import SURFACES as ALL_SURFACES
    from serving.data import ServingData
    from serving.retriever import Retriever

    data = ServingData(root, meta["snapshot"])
    retriever = Retriever(files, meta, data)
    rows = rng.choice(len(data.campaign_ids), size=min(n, len(data.campaign_ids)), replace=False)
    surfaces = rng.choice(ALL_SURFACES, size=len(rows))
    return np.concatenate([retriever.embed(rows[surfaces == s], s) for s in ALL_SURFACES])


def big_root(base_path: str, base_version: str, path: str, n_items: int = BIG_ITEMS,
             seed: int = 0) -> str:
    """A root beside the base one whose catalog and registry version hold ~`n_items` entity
    items: the base catalog plus synthetic keyword items whose embeddings are existing
    keyword/interest embeddings plus noise, in an IVF index (built once)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.index import ann
    from pipelines.world.schema import to_table
    from pipelines.domain.actions import ACTION_INDEX, ACTION_TYPES

    big = Root(path)
    if big.exists("registry/current"):
        return store.current(big)
    started = time.perf_counter()
    base = Root(base_path)
    Path(path).mkdir(parents=True, exist_ok=True)
    _link_tables(Path(base_path), Path(path))
    meta, files = store.load(base, base_version)
    npz = np.load(io.BytesIO(files["items.npz"]))
    ids, emb = npz["item_id"].astype(np.int64), ann.normalise(npz["embedding"])
    catalog = pq.read_table(Path(base_path) / "raw" / "catalog").to_pandas()
    shared = catalog[catalog.entity_kind.isin(["keyword", "interest"])].set_index("item_id")
    shared = shared.loc[np.intersect1d(shared.index.to_numpy(), ids)]
    rng = np.random.default_rng(seed)
    n = n_items - len(ids)
    pick = rng.integers(0, len(shared), n)  # each synthetic item copies a keyword or interest
    new_ids = SYNTHETIC_BASE + np.arange(n, dtype=np.int64)
    noise = rng.normal(size=(n, emb.shape[1])).astype(np.float32) * (0.5 / np.sqrt(emb.shape[1]))
    new_emb = ann.normalise(emb[np.searchsorted(ids, shared.index.to_numpy()[pick])] + noise)
    names = shared.entity_name.to_numpy(object)[pick] + " " + (new_ids % 9973).astype(str)
    kw = ACTION_TYPES[ACTION_INDEX["keyword_add"]]
    table = to_table("catalog", {
        "item_id": new_ids, "action_type": np.full(n, kw.name, object),
        "category": np.full(n, kw.category, object), "param_pct": np.full(n, np.nan),
        "entity_kind": np.full(n, "keyword", object),
        "entity_id": new_ids - 1_000_000, "entity_name": names,
        "entity_vertical": shared.entity_vertical.to_numpy(object)[pick],
        "advertiser_id": pa.nulls(n, pa.int64()),
        "title": np.array([kw.title.format(entity=s, param=0) for s in names], object),
        "description": np.full(n, kw.description, object)})
    cat_dir = Path(path) / "raw" / "catalog"
    cat_dir.mkdir(parents=True, exist_ok=True)
    for part in (Path(base_path) / "raw" / "catalog").iterdir():
        shutil.copy(part, cat_dir / part.name)
    pq.write_table(table, cat_dir / "part-synthetic.parquet")

    all_ids = np.concatenate([ids, new_ids])
    order = np.argsort(all_ids, kind="stable")  # items.npz rows follow the sorted item table
    all_ids, all_emb = all_ids[order], np.concatenate([emb, new_emb])[order]
    queries = _context_queries(base, meta, files, 1000, rng)
    index = ann.build(all_emb, all_ids, queries=queries)
    buf = io.BytesIO()
    np.savez(buf, item_id=all_ids, embedding=all_emb)
    files = {**files, "items.npz": buf.getvalue(), "index.faiss": index.to_bytes()}
    metadata = {k: v for k, v in meta.items() if k not in ("files", "version")}
    metadata["index"] = {"kind": index.kind, "nprobe": index.nprobe, "items": len(index.ids),
                         "recall_at_100": index.recall_at_100,
                         "build_seconds": round(index.build_seconds, 3)}
    metadata["bench"] = {"base_version": base_version, "synthetic_items": int(n),
                         "recall_queries": "context-tower embeddings of 1,000 campaigns"}
    version = store.publish(big, files, metadata, version=f"{base_version}-1m")
    _promote(path, version)
    print(f"built the 1M catalog root in {time.perf_counter() - started:.0f} s: {n:,} synthetic "
          f"keyword items, {index.kind} index (nprobe {index.nprobe}) built in "
          f"{index.build_seconds:.1f} s, recall@100 {index.recall_at_100:.3f} on context "
          "queries", flush=True)
    return version


# -- the load generator ------------------------------------------------------------------------

def requests(root: Root, snapshot: str, n: int = 20_000, seed: int = 1) -> list:
    """Recommend requests for random advertisers with live campaigns, over the surface mix."""
    from serving.gen.guidance.v1 import guidance_pb2 as pb

    adv = root.read_table(f"snapshots/{snapshot}/online/advertisers").to_pandas()
    ids = adv.advertiser_id[adv.live_campaigns > 0].to_numpy()
    rng = np.random.default_rng(seed)
    names, p = zip(*SURFACES)
    return [pb.RecommendRequest(advertiser_id=int(a), surface=pb.Surface.Value(s))
            for a, s in zip(rng.choice(ids, n), rng.choice(names, n, p=p))]


def summary(latencies: list[float], outcomes: dict, seconds: float, cpu_s: float) -> dict:
    """QPS and latency percentiles (ms) of the requests completed inside the window."""
    ms = np.array(latencies) * 1000
    done = len(ms)
    pct = np.percentile(ms, [50, 95, 99]) if done else [float("nan")] * 3
    return {"qps": done / seconds, "requests": done, "p50_ms": float(pct[0]),
            "p95_ms": float(pct[1]), "p99_ms": float(pct[2]),
            "errors": sum(v for k, v in outcomes.items() if k != "OK" and k[0] != "_"),
            "error_codes": {k: v for k, v in outcomes.items() if k != "OK" and k[0] != "_"},
            "degraded_share": outcomes.get("_degraded", 0) / max(done, 1),
            "empty_share": outcomes.get("_empty", 0) / max(done, 1),
            "client_cpu_ms": 1000 * cpu_s / max(done, 1)}


async def load(call, reqs: list, cursor, concurrency: int, warmup: float, seconds: float
               ) -> dict:
    """`concurrency` callers in a closed loop for warmup + seconds, taking requests in turn
    (`cursor`: a shared counter); figures over the last `seconds`. `call(request)` returns
    (status name, degraded, empty slate)."""
    latencies, outcomes = [], {}
    now = time.perf_counter()
    start, end = now + warmup, now + warmup + seconds
    cpu = {}

    async def caller() -> None:
        while (t := time.perf_counter()) < end:
            if "start" not in cpu and t >= start:
                cpu["start"] = time.process_time()
            code, degraded, empty = await call(reqs[next(cursor) % len(reqs)])
            done = time.perf_counter()
            if start <= done <= end:
                outcomes[code] = outcomes.get(code, 0) + 1
                if code == "OK":
                    latencies.append(done - t)
                    outcomes["_degraded"] = outcomes.get("_degraded", 0) + degraded
                    outcomes["_empty"] = outcomes.get("_empty", 0) + empty
        cpu.setdefault("end", time.process_time())

    await asyncio.gather(*(caller() for _ in range(concurrency)))
    outcomes = {k: v for k, v in outcomes.items() if v}
    return summary(latencies, outcomes, seconds, cpu.get("end", 0) - cpu.get("start", 0))


def grpc_caller(address: str, token: str):
    """(call, close) for Recommend over one grpc.aio channel to `address`."""
    import grpc

    from serving.gen.guidance.v1 import guidance_pb2_grpc as pb_grpc

    channel = grpc.aio.insecure_channel(address)
    stub = pb_grpc.GuidanceServiceStub(channel)
    md = (("authorization", f"Bearer {token}"),)

    async def call(req):
        try:
            r = await stub.Recommend(req, metadata=md, timeout=30)
        except grpc.aio.AioRpcError as e:
            if e.code() == grpc.StatusCode.CANCELLED:  # Ctrl-C cancelled the load generator
                raise asyncio.CancelledError from None
            return e.code().name, False, False
        return "OK", r.degraded, not r.items

    return call, channel.close


def host_probe_ms() -> float:
    """Milliseconds of a fixed pure-Python loop (best of 3): this VM's CPU speed drifts by up
    to 2× from minute to minute with no load of ours, so each level records it."""
    best = float("inf")
    for _ in range(3):
        t, s = time.perf_counter(), 0
        for i in range(100_000):
            s += i * i
        best = min(best, time.perf_counter() - t)
    return 1000 * best


def progress(catalog: str, setup: str, level: int, r: dict) -> None:
    print(f"  {catalog:>4} {setup:<34} c={level:<3} {r['qps']:7.1f} QPS  p50 {r['p50_ms']:6.1f}"
          f"  p95 {r['p95_ms']:6.1f}  p99 {r['p99_ms']:6.1f} ms  errors {r['errors']}"
          f"  degraded {100 * r['degraded_share']:.0f}%  empty {100 * r['empty_share']:.0f}%"
          f"  probe {r['host_probe_ms']:.1f} ms", flush=True)


async def run_levels(call, reqs, args, catalog: str, setup: str) -> list[dict]:
    out, cursor = [], itertools.count()  # a setup never repeats a request across its levels
    for level in args.levels:
        before = host_probe_ms()
        r = {"concurrency": level,
             **await load(call, reqs, cursor, level, args.warmup, args.seconds)}
        r["host_probe_ms"] = (before + host_probe_ms()) / 2
        progress(catalog, setup, level, r)
        out.append(r)
    return out


# -- the setups ---------------------------------------------------------------------------------

def bench_config(root: str, log: str, **kw):
    """The service's config for a setup: production defaults but for the bench policy (daily
    caps raised, no re-show cool-down: a few minutes of load would otherwise use up every
    advertiser's candidates and leave slates empty) and a feedback log of its own."""
    from serving.config import ServeConfig

    cap = {"daily_cap": BENCH_CAP}
    return ServeConfig(root=root, feedback_log=f"sqlite:///{log}",
                       policy={"surfaces": {"ads_manager": cap, "sales_workflow": cap},
                               "reshow_after_days": 0}, **kw)


def run_in_process(args) -> None:
    """Worker process: the service and the load generator in one event loop; prints RESULT."""
    from serving.service import GuidanceService

    cfg = bench_config(args.catalog_root, args.log, model_version=args.version)
    service = GuidanceService(cfg, remote_ranker=None)
    service.load(args.version)
    md = (("authorization", f"Bearer {args.token}"),)

    async def call(req):
        r, code, _ = await service.call("recommend", req, md)
        return code.name, r is not None and r.degraded, r is not None and not r.items

    state = service.state
    reqs = requests(Root(args.catalog_root), state.data.snapshot)
    levels = asyncio.run(run_levels(call, reqs, args, args.catalog, "in-process"))
    print("RESULT " + json.dumps({"levels": levels, "catalog_items": len(state.data.catalog.item_id),
                                  "searched_items": len(state.engine.retriever.index.ids)}),
          flush=True)


def host_serve(args) -> None:
    """Worker process: a local Ray with the app deployed; prints READY with its gRPC ports
    (`direct`: the ingress replica's own, with direct ingress on), serves until stdin closes."""
    import ray
    from ray import serve

    from serving.app import deploy, direct_ingress_port
    from serving.config import ServeConfig

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    cfg = ServeConfig(**json.loads(args.serve_config))
    deploy(cfg, cfg.model_version)
    direct = None
    if os.environ.get("RAY_SERVE_THROUGHPUT_OPTIMIZED") == "1":
        direct = direct_ingress_port()
    print("READY " + json.dumps({"proxy": cfg.grpc_port, "direct": direct}), flush=True)
    sys.stdin.readline()
    serve.shutdown()
    ray.shutdown()


def _worker(argv: list[str], env: dict | None, log_path: Path) -> subprocess.Popen:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen([sys.executable, __file__, *argv], cwd=REPO, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=log_path.open("w"), env={**os.environ, **(env or {})})


def _read_until(proc: subprocess.Popen, prefix: str, log_path: Path) -> str:
    """The payload of the worker's first stdout line starting with `prefix`; other lines are
    its progress, echoed."""
    for line in proc.stdout:
        if line.startswith(prefix):
            return line[len(prefix):]
        print(line, end="", flush=True)
    tail = log_path.read_text().splitlines()[-15:]
    raise RuntimeError(f"worker exited ({proc.wait()}) before {prefix.strip()}; log "
                       f"{log_path}:\n" + "\n".join(tail))


def in_process(case: dict, args, logs: Path) -> dict[str, list]:
    argv = ["--worker", "in-process", "--catalog", case["name"], "--catalog-root", case["root"],
            "--version", case["version"], "--token", case["token"],
            "--log", str(logs / "in-process.db"), "--seconds", str(args.seconds),
            "--warmup", str(args.warmup), "--levels", *map(str, args.levels)]
    log_path = logs / "in-process.log"
    proc = _worker(argv, None, log_path)
    result = json.loads(_read_until(proc, "RESULT ", log_path))
    proc.wait()
    case["catalog_items"], case["searched_items"] = (result["catalog_items"],
                                                     result["searched_items"])
    return {"in-process": result["levels"]}


def plain(case: dict, args, logs: Path) -> dict[str, list]:
    from serving.plain import start_process

    port = free_port()
    cfg = bench_config(case["root"], str(logs / "plain.db"), model_version=case["version"])
    server = start_process(cfg, port)
    try:
        return _drive({"plain grpc.aio": f"localhost:{port}"}, case, args)
    finally:
        server.terminate()
        server.join(30)


def serve(case: dict, args, logs: Path, ranker: str, direct: bool) -> dict[str, list]:
    slug = "serve-direct" if direct else f"serve-{ranker}"
    cfg = bench_config(case["root"], str(logs / f"{slug}.db"), model_version=case["version"],
                       ranker=ranker, grpc_port=free_port())
    env = {"RAY_SERVE_THROUGHPUT_OPTIMIZED": "1",
           # no load balancer to deregister from: stop without the 30 s drain
           "RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S": "1"} if direct else None
    log_path = logs / f"{slug}.log"
    proc = _worker(["--worker", "serve", "--serve-config", cfg.model_dump_json()], env, log_path)
    try:
        ports = json.loads(_read_until(proc, "READY ", log_path))
        if direct:
            targets = {"serve direct ingress (replica port)": f"localhost:{ports['direct']}",
                       "serve throughput-opt. via proxy": f"localhost:{ports['proxy']}"}
        else:
            targets = {f"serve proxy, ranker {ranker}": f"localhost:{ports['proxy']}"}
        return _drive(targets, case, args)
    finally:
        proc.stdin.close()
        try:
            proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.send_signal(2)  # SIGINT: Ray's own handler stops the local cluster
            proc.wait(60)


def _drive(targets: dict[str, str], case: dict, args) -> dict[str, list]:
    """The load generator (this process) against each gRPC address in turn."""
    async def go():
        out = {}
        for setup, address in targets.items():
            await asyncio.to_thread(wait_healthy, address)
            call, close = grpc_caller(address, case["token"])
            out[setup] = await run_levels(call, case["requests"], args, case["name"], setup)
            await close()
        return out

    return asyncio.run(go())


# -- the report ---------------------------------------------------------------------------------

BASELINE = "plain grpc.aio"


def _best(levels: list[dict]) -> dict:
    return max(levels, key=lambda r: r["qps"])


def _within_target(levels: list[dict]) -> dict | None:
    """The highest-concurrency level whose p99 stays under the target, if any."""
    ok = [r for r in levels if r["p99_ms"] < TARGET_P99_MS and r["errors"] == 0]
    return max(ok, key=lambda r: r["concurrency"]) if ok else None


def table(case: dict, setups: dict[str, list]) -> str:
    lines = [f"### {case['name']} catalog: {case['catalog_items']:,} items, "
             f"{case['searched_items']:,} searched by the {case['index']['kind']} index"
             + (f" (nprobe {case['index']['nprobe']}, recall@100 "
                f"{case['index']['recall_at_100']:.3f})" if case['index']['nprobe'] else ""),
             "",
             "| setup | clients | QPS | p50 ms | p95 ms | p99 ms | errors | degraded | "
             "client CPU ms/req | probe ms |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for setup, levels in setups.items():
        for r in levels:
            lines.append(f"| {setup} | {r['concurrency']} | {r['qps']:,.1f} | {r['p50_ms']:.1f} "
                         f"| {r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} | "
                         f"{100 * r['degraded_share']:.0f} % | {r['client_cpu_ms']:.2f}"
                         + (" (all)" if setup == "in-process" else "")
                         + f" | {r['host_probe_ms']:.1f} |")
    base = setups.get(BASELINE)
    lines += ["", "| setup | best QPS (clients) | × plain | p50 at 1 client | × plain | "
                  f"p99 < {TARGET_P99_MS:g} ms up to clients | QPS there |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for setup, levels in setups.items():
        best, first, ok = _best(levels), levels[0], _within_target(levels)
        ratio = f"{best['qps'] / _best(base)['qps']:.2f}×" if base else "–"
        p50_ratio = f"{first['p50_ms'] / base[0]['p50_ms']:.2f}×" if base else "–"
        lines.append(f"| {setup} | {best['qps']:,.1f} ({best['concurrency']}) | {ratio} | "
                     f"{first['p50_ms']:.1f} ms | {p50_ratio} | "
                     + (f"{ok['concurrency']} (p99 {ok['p99_ms']:.1f} ms) | "
                        f"{ok['qps']:,.1f} |" if ok else "none | – |"))
    empty = max(r["empty_share"] for levels in setups.values() for r in levels)
    lines += ["", f"Most empty slates in any cell: {100 * empty:.1f} %. Client CPU: the load "
                  "generator's process; in-process (all): service and load generator together. "
                  "Probe: a fixed Python loop timed before and after the level (the host's "
                  "speed; higher is slower)."]
    return "\n".join(lines)


def verdicts(results: dict) -> list[str]:
    out = []
    big = results.get("1m")
    if big:
        for setup, levels in big["setups"].items():
            ok = _within_target(levels)
            out.append(f"p99 < {TARGET_P99_MS:g} ms at 1M items, {setup}: "
                       + (f"met up to {ok['concurrency']} clients (p99 {ok['p99_ms']:.1f} ms, "
                          f"{ok['qps']:,.1f} QPS)" if ok else "NOT met at any level"))
    for name, case in results.items():
        base = case["setups"].get(BASELINE)
        if not base:
            continue
        for setup, levels in case["setups"].items():
            if setup.startswith("serve"):
                share = _best(levels)["qps"] / _best(base)["qps"]
                out.append(f"Serve >= {100 * TARGET_SERVE_SHARE:.0f} % of plain QPS, {name}, "
                           f"{setup}: {100 * share:.0f} % "
                           + ("(met)" if share >= TARGET_SERVE_SHARE else "(NOT met)"))
    return out


# -- main ---------------------------------------------------------------------------------------

def _case(name: str, path: str, version: str) -> dict:
    from serving import auth

    root = Root(path)
    meta, _ = store.load(root, version)
    return {"name": name, "root": path, "version": version, "index": meta["index"],
            "token": auth.create(root, "bench-serve", [], all_advertisers=True),
            "requests": requests(root, meta["snapshot"])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(REPO / ".guidance" / "bench-serve"))
    ap.add_argument("--catalogs", nargs="+", choices=["20k", "1m"], default=["20k", "1m"])
    ap.add_argument("--levels", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32])
    ap.add_argument("--seconds", type=float, default=8.0, help="Measured seconds per level.")
    ap.add_argument("--warmup", type=float, default=2.0, help="Seconds before measuring.")
    ap.add_argument("--quick", action="store_true", help="Smoke run: 2 levels, 3 s each.")
    ap.add_argument("--json", action="store_true", help="Print the figures as JSON.")
    # a worker process of this script (one setup)
    ap.add_argument("--worker", choices=["in-process", "serve"], help=argparse.SUPPRESS)
    for flag in ("--catalog", "--catalog-root", "--version", "--token", "--log",
                 "--serve-config"):
        ap.add_argument(flag, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker == "in-process":
        return run_in_process(args)
    if args.worker == "serve":
        return host_serve(args)
    if args.quick:
        args.levels, args.seconds, args.warmup = [1, 8], 3.0, 1.0

    # workers' pandas deprecation warnings are noise here (the plain server writes to ours)
    os.environ.setdefault("PYTHONWARNINGS", "ignore::FutureWarning,ignore::RuntimeWarning")
    root = str(Path(args.root).resolve())
    version = base_root(root)
    import ray

    ray.shutdown()  # building the data may have started a local Ray; each setup has its own
    cases = [_case("20k", root, version) if name == "20k" else
             _case("1m", f"{root}/bench/serve-1m",
                   big_root(root, version, f"{root}/bench/serve-1m"))
             for name in args.catalogs]
    print(f"{os.cpu_count()} cpus; client: one asyncio grpc.aio process sharing them; "
          f"{args.warmup:g} s warm-up + {args.seconds:g} s per level", flush=True)
    results = {}
    for case in cases:
        logs = Path(root) / "bench" / "logs" / case["name"]
        shutil.rmtree(logs, ignore_errors=True)  # a fresh feedback log for every setup
        logs.mkdir(parents=True)
        setups = {}
        setups.update(in_process(case, args, logs))
        setups.update(plain(case, args, logs))
        setups.update(serve(case, args, logs, "local", direct=False))
        setups.update(serve(case, args, logs, "deployment", direct=False))
        setups.update(serve(case, args, logs, "local", direct=True))
        results[case["name"]] = {k: case[k] for k in ("catalog_items", "searched_items",
                                                      "index", "version")} | {"setups": setups}
        print("\n" + table(case, setups) + "\n", flush=True)
    lines = verdicts(results)
    print("\n".join(lines))
    report = {"cpus": os.cpu_count(), "levels": args.levels, "seconds": args.seconds,
              "warmup": args.warmup, "catalogs": results, "targets": lines}
    out = Path(root) / "reports" / "bench" / "serve.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"figures written to {out}")
    if args.json:
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
