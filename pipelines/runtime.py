"""Where jobs get their Ray: an embedded local cluster unless one is running or configured."""

import os
import sys

import ray

from pipelines.errors import ConfigError


def ensure_ray() -> bool:
    """Start an embedded local Ray unless one is running or an address is configured
    (RAY_ADDRESS, as `ray job submit` sets on a cluster). True when it started one here: a
    cluster of this machine alone, which no autoscaler will grow."""
    if ray.is_initialized():
        return False
    ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
    return not os.environ.get("RAY_ADDRESS")


def shortfall(needed: dict[str, float], total: dict[str, float]) -> dict[str, tuple[float, float]]:
    """Each resource `needed` holds more of than `total`: (needed, total)."""
    return {k: (v, total.get(k, 0.0)) for k, v in needed.items() if v > total.get(k, 0.0)}


def require(needed: dict[str, float], job: str, local: bool) -> None:
    """Refuse what this Ray cannot hold. Ray Train waits for missing resources without end and,
    with the driver's logging off, without a word. A local Ray never grows, so it is refused
    at once; a cluster's autoscaler may add nodes, so there it is only said what is awaited."""
    short = shortfall(needed, ray.cluster_resources())
    if not short:
        return
    what = ", ".join(f"{v:g} {k}" for k, (v, _) in short.items())
    have = ", ".join(f"{t:g} {k}" for k, (_, t) in short.items())
    if local:
        raise ConfigError(f"{job} needs {what} but this machine's Ray has {have}; ask for fewer "
                          "workers or no --gpu, or set RAY_ADDRESS to a cluster that has them")
    print(f"{job}: waiting for the cluster to provide {what} (it has {have} now)",
          file=sys.stderr, flush=True)
