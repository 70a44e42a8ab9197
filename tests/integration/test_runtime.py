"""Resource checks against the shared local Ray (2 CPUs, no GPU)."""

import pytest

from pipelines.errors import ConfigError
from pipelines.runtime import require, shortfall


def test_shortfall_names_only_what_is_missing():
    assert shortfall({"CPU": 3, "GPU": 1}, {"CPU": 2.0}) == {"CPU": (3, 2.0), "GPU": (1, 0.0)}
    assert shortfall({"CPU": 2}, {"CPU": 2.0, "GPU": 1.0}) == {}


def test_a_local_ray_refuses_a_gpu_it_does_not_have_and_a_cluster_waits(ray_cluster, capsys):
    with pytest.raises(ConfigError, match="training needs 1 GPU but this machine's Ray has 0 GPU"):
        require({"CPU": 0, "GPU": 1}, "training", local=True)
    require({"GPU": 1}, "training", local=False)
    assert "waiting for the cluster to provide 1 GPU (it has 0 GPU now)" in capsys.readouterr().err
    require({"CPU": 2}, "training", local=True)  # what the shared cluster has passes
