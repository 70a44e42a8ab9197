"""Resource checks against the shared local Ray (2 CPUs)."""

import pytest
import ray

from pipelines.errors import ConfigError
from pipelines.runtime import require, shortfall


def test_shortfall_names_only_what_is_missing():
    assert shortfall({"CPU": 3, "GPU": 1}, {"CPU": 2.0}) == {"CPU": (3, 2.0), "GPU": (1, 0.0)}
    assert shortfall({"CPU": 2}, {"CPU": 2.0, "GPU": 1.0}) == {}


def test_a_local_ray_refuses_gpus_it_does_not_have_and_a_cluster_waits(ray_cluster, capsys):
    # one GPU more than the cluster has, so the test holds on a machine with GPUs too
    have = ray.cluster_resources().get("GPU", 0.0)
    want = have + 1
    with pytest.raises(ConfigError, match=f"training needs {want:g} GPU but this machine's Ray "
                                          f"has {have:g} GPU"):
        require({"CPU": 0, "GPU": want}, "training", local=True)
    require({"GPU": want}, "training", local=False)
    assert (f"waiting for the cluster to provide {want:g} GPU (it has {have:g} GPU now)"
            in capsys.readouterr().err)
    require({"CPU": 2}, "training", local=True)  # what the shared cluster has passes
