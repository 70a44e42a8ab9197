"""A real multi-node Ray on one machine, to try the cluster path without a cluster: a head started
with `ray start --head` and more nodes joining it with `ray start --address`, each in its own
process group, stopped on exit (only they, never another Ray of the machine; `ray stop` would
stop every one). The tests use it, and `make demo` sends a job to it:

    python -m deploy.local_cluster --nodes 2 -- guidance world summary --root "$PWD/.guidance"

starts the nodes, sends the command through Ray's job submission with this checkout as the
working directory, prints the job's log and status, stops the nodes, and exits 0 when the job
succeeded, 1 when it failed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from serving.client import free_port

BIN = Path(sys.executable).parent
# Ray 2.59+ turns token authentication on for local clusters in some cases; pinned off on these
# throwaway nodes (docs/cluster.md says how to run a real cluster with tokens).
AUTH = {"RAY_AUTH_MODE": "disabled"}


@dataclass(frozen=True)
class Cluster:
    address: str  # the GCS, host:port (what `ray start --address` and RAY_ADDRESS take)
    dashboard: str  # http://host:port: job submission, `serve deploy`, the state API
    env: dict[str, str]  # the nodes' environment, for clients run as subprocesses
    temp_dir: str

    def node_ids(self) -> list[str]:
        from ray.util.state import list_nodes

        return sorted(n.node_id for n in list_nodes(address=self.dashboard)
                      if n.state == "ALIVE")


def _node_args(cpus: int, label: str) -> list[str]:
    ports = {"--dashboard-agent-listen-port": free_port(),
             "--dashboard-agent-grpc-port": free_port(),
             "--runtime-env-agent-port": free_port(), "--metrics-export-port": free_port()}
    return ["--block", "--disable-usage-stats", f"--num-cpus={cpus}",
            f"--resources={json.dumps({label: 1})}",
            *[f"{k}={v}" for k, v in ports.items()]]


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM to `ray start --block` (which then stops its node's Ray processes), SIGKILL to
    whatever of its process group is left after 10 s."""
    if proc.poll() is None:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _wait(what: str, ok, procs: list[subprocess.Popen], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(Exception):
            if ok():
                return
        dead = [p.args for p in procs if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not ready after {timeout_s} s (exited: {dead})")
        time.sleep(0.5)


@contextlib.contextmanager
def ray_cluster(nodes: int = 2, cpus: int = 2, env: dict[str, str] | None = None,
                log_dir: Path | None = None) -> Iterator[Cluster]:
    """A head and `nodes - 1` more nodes of `cpus` CPUs each (they may declare more than the
    machine has), each with a custom resource `node-<i>` to address it. `env` joins the nodes'
    environment (Ray workers inherit it)."""
    temp_dir = tempfile.mkdtemp(prefix="rayc-", dir="/tmp")  # short: Unix socket paths
    node_env = {**os.environ, **AUTH, **(env or {}), "PATH": f"{BIN}:{os.environ['PATH']}",
                "RAY_USAGE_STATS_ENABLED": "0"}
    node_env.pop("RAY_ADDRESS", None)
    gcs, dash = free_port(), free_port()
    address, dashboard = f"127.0.0.1:{gcs}", f"http://127.0.0.1:{dash}"
    procs: list[subprocess.Popen] = []
    logs = Path(log_dir or temp_dir)

    def start(args: list[str], name: str) -> None:
        with open(logs / f"{name}.log", "w") as out:  # the child keeps its own descriptor
            procs.append(subprocess.Popen([str(BIN / "ray"), "start", *args], env=node_env,
                                          stdout=out, stderr=subprocess.STDOUT,
                                          start_new_session=True))

    try:
        start(["--head", f"--port={gcs}", "--node-ip-address=127.0.0.1",
               f"--temp-dir={temp_dir}", "--include-dashboard=true",
               "--dashboard-host=127.0.0.1", f"--dashboard-port={dash}",
               f"--ray-client-server-port={free_port()}", *_node_args(cpus, "node-0")], "head")
        cluster = Cluster(address, dashboard, node_env, temp_dir)
        _wait("the head's dashboard", lambda: cluster.node_ids(), procs)
        for i in range(1, nodes):
            start([f"--address={address}", "--node-ip-address=127.0.0.1",
                   *_node_args(cpus, f"node-{i}")], f"node-{i}")
        _wait(f"{nodes} nodes", lambda: len(cluster.node_ids()) == nodes, procs)
        yield cluster
    finally:
        for proc in reversed(procs):
            _stop(proc)
        shutil.rmtree(temp_dir, ignore_errors=True)  # the nodes' sessions (their logs: log_dir)


def submit(dashboard: str, command: str, working_dir: str = ".", timeout_s: float = 600
           ) -> tuple[str, str, str]:
    """Send `command` as a job with `working_dir` as its working directory and wait for its end;
    (submission id, final status, the job's log). A job still running after `timeout_s` is
    stopped."""
    from ray.job_submission import JobSubmissionClient

    client = JobSubmissionClient(dashboard)
    job_id = client.submit_job(entrypoint=command, runtime_env={"working_dir": working_dir})
    deadline = time.monotonic() + timeout_s
    while not (status := client.get_job_status(job_id)).is_terminal():
        if time.monotonic() > deadline:
            client.stop_job(job_id)
        time.sleep(1)
    return job_id, str(status.value), client.get_job_logs(job_id)


def main() -> None:
    import argparse
    import shlex

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=2, help="Nodes, the head included.")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs each node declares.")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the job's command")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command or args.nodes < 1 or args.cpus < 1:
        parser.error("give --nodes ≥ 1, --cpus ≥ 1 and a command after --")
    os.environ.update(AUTH)
    started = time.monotonic()
    with ray_cluster(args.nodes, args.cpus) as cluster:
        print(f"{args.nodes} Ray nodes up at {cluster.address} in "
              f"{time.monotonic() - started:.0f} s; sending the job", flush=True)
        job_id, status, logs = submit(cluster.dashboard, shlex.join(command))
    print(logs.rstrip())
    print(f"job {job_id}: {status} (nodes stopped; {time.monotonic() - started:.0f} s in all)")
    sys.exit(0 if status == "SUCCEEDED" else 1)


if __name__ == "__main__":
    main()
