"""One local Ray cluster shared by every integration test of the session."""

import pytest
import ray

from serving.client import free_port


@pytest.fixture(scope="session", autouse=True)
def ray_cluster():
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 configure_logging=False, _metrics_export_port=free_port())
    yield
    ray.shutdown()


@pytest.fixture(scope="session")
def metrics_port(ray_cluster) -> int:
    """The port of the shared cluster's Prometheus endpoint (http://127.0.0.1:P/metrics)."""
    from serving.run import metrics_port

    return metrics_port()


@pytest.fixture(scope="session")
def served_root(tmp_path_factory):
    """A tiny world with a snapshot and a registered, promoted model, for the service tests."""
    from pipelines.labels.config import PrepareConfig
    from pipelines.labels.prepare import prepare
    from pipelines.models.config import TrainConfig
    from pipelines.models.job import fit_and_register
    from pipelines.promotion.promote import PromoteConfig, promote
    from pipelines.world.config import WorldConfig
    from pipelines.world.job import generate

    path = str(tmp_path_factory.mktemp("served"))
    generate(WorldConfig(scale="tiny", advertisers=300, days=70, seed=11, root=path),
             show_progress=False)
    prepare(PrepareConfig(root=path, version="s1"), show_progress=False)
    fit_and_register(TrainConfig(root=path, run_name="served", epochs=2, batch_size=512,
                                 hidden=32, experts=2, retrieval={"epochs": 2}))
    # a 2-epoch model of a tiny world is not evaluated (it could not pass the gates): forced
    promote(PromoteConfig(root=path, force=True, reason="test fixture: a tiny world's model"))
    return path
