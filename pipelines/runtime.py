"""Where jobs get their Ray: an embedded local cluster unless one is running or configured."""

import ray


def ensure_ray() -> None:
    """Start an embedded local Ray unless one is running or an address is configured
    (RAY_ADDRESS, as `ray job submit` sets on a cluster)."""
    if not ray.is_initialized():
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
