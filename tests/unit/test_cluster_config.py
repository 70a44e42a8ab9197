"""cluster.yaml and the KubeRay manifests (deploy/kuberay/) against the schemas that judge them,
offline and without starting Ray:

- cluster.yaml: Ray's own cluster-config schema (ray/autoscaler/ray-schema.json) and the checks
  `ray up` runs on the config filled with Ray's AWS defaults;
- the RayJob and the RayService: KubeRay's CRD schemas (vendored from a pinned release in
  deploy/kuberay/schemas/) with unknown fields refused, as `kubectl apply`'s default strict field
  validation does, plus some of the operator's own admission rules;
- the RayService's serveConfigV2: Ray Serve's config schema, with its import paths and gRPC
  servicers imported here;
- the RayJob's entrypoint: the `guidance` CLI's own option parser.

Each validator also rejects broken copies (the tables at the end), so a pass means something."""

from __future__ import annotations

import copy
import gzip
import json
import re
import shlex
import sys
import tomllib
from pathlib import Path

import jsonschema
import pytest
import ray
import typer
import typer.main
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from pydantic import BaseModel, ValidationError
from ray._common.utils import import_attr
from ray.autoscaler._private.util import prepare_config, validate_config
from ray.serve.schema import ServeDeploySchema

from cli.main import app as cli_app
from serving.config import ServeConfig

REPO = Path(__file__).resolve().parents[2]
KUBERAY_DIR = REPO / "deploy" / "kuberay"
KUBERAY_RELEASE = "v1.7.0"  # the CRD schemas' release (deploy/kuberay/schemas/README.md)
DATA_ROOT = "s3://my-bucket/guidance"
PY_TAG = f"py{sys.version_info.major}{sys.version_info.minor}"
RAY_IMAGE = f"rayproject/ray:{ray.__version__}-{PY_TAG}"  # Ray's image for this Ray and Python
PROJECT_IMAGE = f"my-registry/advertiser-guidance:0.1.0-{PY_TAG}"
AWS_SECRET = "guidance-aws"
# vCPUs and GPUs of the instance types the launcher config may name (AWS's published figures):
# the declared resources must be what the instance has, or the autoscaler plans wrongly.
INSTANCES = {"m6i.2xlarge": (8, 0), "m6i.4xlarge": (16, 0), "c6i.4xlarge": (16, 0),
             "c6i.8xlarge": (32, 0), "g5.xlarge": (4, 1), "g5.2xlarge": (8, 1),
             "g5.4xlarge": (16, 1)}


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


# ---- cluster.yaml: Ray's cluster launcher ----------------------------------------------------

RAY_SCHEMA = json.loads((Path(ray.autoscaler.__file__).parent / "ray-schema.json").read_text())


def check_launcher_config(config: dict) -> None:
    """Raise what `ray up` would, short of calling AWS: the file against Ray's schema, then the
    config merged with Ray's AWS defaults (prepare_config) through Ray's validate_config."""
    jsonschema.validate(config, RAY_SCHEMA)
    validate_config(prepare_config(copy.deepcopy(config)))


@pytest.fixture(scope="module")
def launcher() -> dict:
    return load_yaml(REPO / "cluster.yaml")


def test_cluster_yaml_passes_rays_own_validation(launcher):
    check_launcher_config(launcher)


def test_cluster_yaml_has_a_cpu_head_and_autoscaling_cpu_and_gpu_groups(launcher):
    types = launcher["available_node_types"]
    assert set(types) == {"head", "cpu_worker", "gpu_worker"}
    assert launcher["head_node_type"] == "head"
    head, cpu, gpu = types["head"], types["cpu_worker"], types["gpu_worker"]
    assert head["resources"] == {"CPU": 0} and head["max_workers"] == 0
    for group in (cpu, gpu):
        assert group["min_workers"] == 0 < group["max_workers"]
        assert "IamInstanceProfile" in group["node_config"]  # workers reach the bucket
    assert cpu["max_workers"] + gpu["max_workers"] <= launcher["max_workers"]
    vcpus, gpus = INSTANCES[cpu["node_config"]["InstanceType"]]
    assert cpu["resources"] == {"CPU": vcpus} and gpus == 0
    vcpus, gpus = INSTANCES[gpu["node_config"]["InstanceType"]]
    assert gpu["resources"] == {"CPU": vcpus, "GPU": gpus} and gpus >= 1
    assert INSTANCES[head["node_config"]["InstanceType"]][1] == 0


def test_cluster_yaml_installs_the_project_on_rays_image(launcher):
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    (ray_pin,) = [r for r in map(Requirement, pyproject["dependencies"]) if r.name == "ray"]
    assert str(ray_pin.specifier) == f"=={ray.__version__}"  # the image's Ray is the pinned one
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in SpecifierSet(
        pyproject["requires-python"])
    assert launcher["docker"]["image"] == RAY_IMAGE
    gpu_docker = launcher["available_node_types"]["gpu_worker"]["docker"]
    assert gpu_docker["worker_image"] == f"{RAY_IMAGE}-gpu"
    assert launcher["file_mounts"]["~/advertiser-guidance"] == "."
    assert ".gitignore" in launcher["rsync_filter"]  # not .venv/ nor .guidance/
    assert "pip install -q -e ~/advertiser-guidance" in launcher["setup_commands"]


def test_cluster_yaml_starts_ray_with_token_auth(launcher):
    head = [c for c in launcher["head_start_ray_commands"] if "ray start" in c]
    workers = [c for c in launcher["worker_start_ray_commands"] if "ray start" in c]
    assert len(head) == len(workers) == 1
    assert {"--head", "--autoscaling-config=~/ray_bootstrap_config.yaml",
            "--dashboard-host=0.0.0.0"} <= set(shlex.split(head[0]))
    assert "--address=$RAY_HEAD_IP:6379" in shlex.split(workers[0])
    for command in head + workers:
        assert "RAY_AUTH_MODE=token" in shlex.split(command)
    assert launcher["file_mounts"]["~/.ray/auth_token"] == "~/.ray/auth_token"


# ---- KubeRay: the CRDs' schemas, strict, and some of the operator's rules --------------------

def strict(schema: dict) -> dict:
    """The CRD schema as the API server applies it under strict field validation: an object
    that lists its properties refuses any other field (Kubernetes would prune or reject it)."""
    out = dict(schema)
    if "properties" in schema:
        out["properties"] = {k: strict(v) for k, v in schema["properties"].items()}
        if not schema.get("x-kubernetes-preserve-unknown-fields"):
            out.setdefault("additionalProperties", False)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            out[key] = strict(schema[key])
    for key in ("anyOf", "allOf", "oneOf"):
        if key in schema:
            out[key] = [strict(s) for s in schema[key]]
    return out


def crd_schema(kind: str) -> dict:
    path = KUBERAY_DIR / "schemas" / f"{kind.lower()}.{KUBERAY_RELEASE}.json.gz"
    with gzip.open(path, "rt") as f:
        return json.load(f)


VALIDATORS = {kind: jsonschema.Draft4Validator(strict(crd_schema(kind)))
              for kind in ("RayJob", "RayService")}
DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def cel_rules_reached(schema: dict, value, path: str = "") -> list[str]:
    """The CRD's CEL rules (x-kubernetes-validations, not evaluated here) on fields the manifest
    sets: none may be in play for the schema check to be the whole story."""
    found = [f"{path}: {rule['rule']}" for rule in schema.get("x-kubernetes-validations", [])]
    if isinstance(value, dict):
        for key, item in value.items():
            sub = schema.get("properties", {}).get(key, schema.get("additionalProperties"))
            if isinstance(sub, dict):
                found += cel_rules_reached(sub, item, f"{path}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            found += cel_rules_reached(schema["items"], item, f"{path}[{i}]")
    return found


def cluster_of(manifest: dict) -> dict | None:
    key = "rayClusterSpec" if manifest["kind"] == "RayJob" else "rayClusterConfig"
    return manifest["spec"].get(key)


def operator_errors(manifest: dict) -> list[str]:
    """A subset of the KubeRay operator's admission rules
    (ray-operator/controllers/ray/utils/validation.go at the pinned release)."""
    errors = []
    name = manifest["metadata"].get("name", "")
    if not DNS_1035.match(name) or len(name) > 47:
        errors.append(f"metadata.name {name!r}: a DNS-1035 label of at most 47 characters")
    spec, cluster = manifest["spec"], cluster_of(manifest)
    if cluster is None:
        if not spec.get("clusterSelector"):
            errors.append("spec: one of rayClusterSpec or clusterSelector must be set")
        return errors
    if cluster.get("authOptions", {}).get("mode") == "token":
        version = tuple(int(p) for p in cluster.get("rayVersion", "0").split("."))
        if version < (2, 52, 0):
            errors.append("authOptions.mode token needs rayVersion 2.52.0 or later")
    groups = [cluster["headGroupSpec"], *cluster.get("workerGroupSpecs", [])]
    for group in groups:
        if not group["template"]["spec"].get("containers"):
            errors.append(f"{group.get('groupName', 'head')}: at least one container")
    for group in cluster.get("workerGroupSpecs", []):
        low, high = group["minReplicas"], group["maxReplicas"]
        if not 0 <= low <= high:
            errors.append(f"{group['groupName']}: 0 <= minReplicas <= maxReplicas")
        if not low <= group.get("replicas", low) <= high:  # ours: KubeRay clamps it silently
            errors.append(f"{group['groupName']}: replicas outside [minReplicas, maxReplicas]")
    if manifest["kind"] == "RayJob":
        if spec.get("ttlSecondsAfterFinished", 0) < 0:
            errors.append("ttlSecondsAfterFinished must be non-negative")
        if "ttlSecondsAfterFinished" in spec and not spec.get("shutdownAfterJobFinishes"):
            errors.append("ttlSecondsAfterFinished needs shutdownAfterJobFinishes")
    else:
        ports = cluster["headGroupSpec"]["template"]["spec"]["containers"][0].get("ports", [])
        if not any(p.get("name") == "serve" or p.get("name", "").startswith("serve-")
                   for p in ports):
            errors.append("the head container needs a port named serve or serve-*")
    return errors


def kuberay_errors(manifest: dict) -> list[str]:
    """Why the API server or the operator would refuse `manifest` (empty: accepted)."""
    if manifest.get("apiVersion") != "ray.io/v1" or manifest.get("kind") not in VALIDATORS:
        return [f"apiVersion/kind: ray.io/v1 RayJob or RayService, got {manifest.get('kind')}"]
    errors = [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
              for e in VALIDATORS[manifest["kind"]].iter_errors(manifest)]
    return errors or operator_errors(manifest)


@pytest.fixture(scope="module")
def rayjob() -> dict:
    return load_yaml(KUBERAY_DIR / "rayjob-pipeline.yaml")


@pytest.fixture(scope="module")
def rayservice() -> dict:
    return load_yaml(KUBERAY_DIR / "rayservice.yaml")


@pytest.mark.parametrize("name", ["rayjob", "rayservice"])
def test_kuberay_manifest_matches_the_crd_and_the_operators_rules(name, request):
    manifest = request.getfixturevalue(name)
    assert kuberay_errors(manifest) == []
    assert cel_rules_reached(crd_schema(manifest["kind"]), manifest) == []


@pytest.mark.parametrize("name", ["rayjob", "rayservice"])
def test_kuberay_cluster_runs_this_ray_and_image_with_token_auth_and_aws_secret(name, request):
    cluster = cluster_of(request.getfixturevalue(name))
    assert cluster["rayVersion"] == ray.__version__
    assert cluster["authOptions"] == {"mode": "token"}
    head = cluster["headGroupSpec"]
    assert head["rayStartParams"]["num-cpus"] == "0"
    for group in [head, *cluster["workerGroupSpecs"]]:
        (container,) = group["template"]["spec"]["containers"]
        gpus = container["resources"]["limits"].get("nvidia.com/gpu", 0)
        assert container["image"] == PROJECT_IMAGE + ("-gpu" if gpus else "")
        assert container["resources"]["requests"] == container["resources"]["limits"]
        assert {"secretRef": {"name": AWS_SECRET}} in container["envFrom"]


def test_dockerfile_builds_on_rays_image_for_this_ray_and_python():
    text = (REPO / "deploy" / "Dockerfile").read_text()
    assert f"ARG BASE={RAY_IMAGE}\n" in text
    assert f"ray.__version__ == '{ray.__version__}'" in text
    assert "pip install --no-cache-dir ." in text


def pipeline_steps(entrypoint: str) -> list[list[str]]:
    """The `guidance` commands of a RayJob entrypoint, in order. KubeRay pastes the entrypoint
    unquoted into the submitter pod's shell, so it must be one quoted `bash -c` script: a bare
    `&&` would run the later steps in the submitter, outside Ray."""
    words = shlex.split(entrypoint)
    if len(words) != 3 or words[:2] != ["bash", "-c"]:
        raise ValueError(f"the entrypoint must be one quoted bash -c script, got {words}")
    return [shlex.split(step) for step in words[2].split("&&")]


def parse_cli(argv: list[str]) -> dict:
    """Parse `guidance ...` with the CLI's own parser, running nothing; raises on an unknown
    command or option, or a value of the wrong type."""
    if argv[:1] != ["guidance"]:
        raise ValueError(f"not a guidance command: {argv}")
    command, args = typer.main.get_command(cli_app), argv[1:]
    while hasattr(command, "commands"):
        if not args or args[0] not in command.commands:
            raise ValueError(f"no such guidance command: {argv}")
        command, args = command.commands[args[0]], args[1:]
    return command.make_context(command.name, args).params


def test_rayjob_runs_the_pipeline_on_s3_and_shuts_down(rayjob):
    spec = rayjob["spec"]
    steps = pipeline_steps(spec["entrypoint"])
    assert [s[1:3] if s[1] == "world" else s[1:2] for s in steps] == [
        ["world", "generate"], ["prepare"], ["train"], ["evaluate"]]
    params = [parse_cli(step) for step in steps]
    assert all(p["root"] == DATA_ROOT for p in params)
    assert params[2]["gpu"] and params[2]["workers"] == 1
    assert spec["shutdownAfterJobFinishes"] is True and spec["ttlSecondsAfterFinished"] > 0
    groups = {g["groupName"]: g for g in spec["rayClusterSpec"]["workerGroupSpecs"]}
    assert set(groups) == {"cpu", "gpu"}
    gpu = groups["gpu"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    # one GPU per training worker (ScalingConfig(use_gpu=True)), and room for every worker
    assert gpu["nvidia.com/gpu"] * groups["gpu"]["maxReplicas"] >= params[2]["workers"]
    assert groups["cpu"]["minReplicas"] == groups["gpu"]["minReplicas"] == 0


# ---- the RayService's Serve config -----------------------------------------------------------

def unknown_fields(model: BaseModel, data: dict, path: str = "") -> list[str]:
    """Keys of `data` that `model`'s class does not declare. Serve's schema lets unknown fields
    through (forward compatibility); here a typo must fail."""
    found = [f"{path}{key}" for key in data if key not in type(model).model_fields]
    for key, value in data.items():
        sub = getattr(model, key, None)
        if isinstance(sub, BaseModel) and isinstance(value, dict):
            found += unknown_fields(sub, value, f"{path}{key}.")
        elif isinstance(sub, list) and isinstance(value, list):
            for i, (m, v) in enumerate(zip(sub, value)):
                if isinstance(m, BaseModel) and isinstance(v, dict):
                    found += unknown_fields(m, v, f"{path}{key}[{i}].")
    return found


def serve_config_errors(text: str) -> list[str]:
    """Why Serve would refuse this serveConfigV2 text, or deploy it with a typo ignored, or fail
    to import what it names (empty: accepted)."""
    config = yaml.safe_load(text)
    try:
        schema = ServeDeploySchema.model_validate(config)
    except ValidationError as e:
        return [f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors()]
    errors = unknown_fields(schema, config)
    paths = [a.import_path for a in schema.applications]
    paths += schema.grpc_options.grpc_servicer_functions if schema.grpc_options else []
    for path in paths:
        try:
            if not callable(import_attr(path)):
                errors.append(f"{path}: not callable")
        except (ImportError, AttributeError) as e:
            errors.append(f"{path}: {e}")
    return errors


@pytest.fixture(scope="module")
def serve_config_v2(rayservice) -> str:
    return rayservice["spec"]["serveConfigV2"]


def test_rayservice_serves_serve_config_yaml_with_the_data_on_s3(serve_config_v2, rayservice):
    assert serve_config_errors(serve_config_v2) == []
    deployed = yaml.safe_load(serve_config_v2)
    expected = load_yaml(REPO / "serving" / "serve_config.yaml")
    expected["applications"][0]["args"]["root"] = DATA_ROOT
    assert deployed == expected  # serving/serve_config.yaml, only the root differs
    (guidance,) = deployed["applications"]
    ServeConfig(**guidance["args"])  # what app_builder will accept
    head = rayservice["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]
    ports = {p["name"]: p["containerPort"] for p in head["containers"][0]["ports"]}
    assert ports["serve-grpc"] == deployed["grpc_options"]["port"] == guidance["args"]["grpc_port"]


# ---- broken copies: every validator above refuses them ---------------------------------------

_DELETE = object()


def _set(path: str, value):
    """A change to a parsed document: set (or, with _DELETE, remove) the field at a dotted path
    whose numeric parts index lists."""
    def change(doc: dict) -> None:
        keys = [int(k) if k.isdigit() else k for k in path.split(".")]
        for key in keys[:-1]:
            doc = doc[key]
        if value is _DELETE:
            del doc[keys[-1]]
        else:
            doc[keys[-1]] = value
    return change



@pytest.mark.parametrize("change, error", [
    (_set("available_node_types.gpu_worker.resources.GPU", "1"), jsonschema.ValidationError),
    (_set("min_workers_per_type", 1), jsonschema.ValidationError),  # unknown top-level field
    (_set("available_node_types.cpu_worker.node_config", _DELETE), jsonschema.ValidationError),
    (_set("docker.gpu_image", "x"), jsonschema.ValidationError),
    (_set("head_node_type", "gpu_head"), ValueError),
    (_set("available_node_types.cpu_worker.min_workers", 21), ValueError),
])
def test_broken_cluster_yaml_is_rejected(launcher, change, error):
    broken = copy.deepcopy(launcher)
    change(broken)
    with pytest.raises(error):
        check_launcher_config(broken)


@pytest.mark.parametrize("name, change, expected", [
    ("rayjob", _set("spec.rayClusterSpec", _DELETE), "one of rayClusterSpec or clusterSelector"),
    ("rayjob", _set("spec.shutdownAfterJobFinishes", "yes"), "is not of type 'boolean'"),
    ("rayjob", _set("spec.rayClusterSpecs", {}), "Additional properties"),
    ("rayjob", _set("spec.rayClusterSpec.headGroupSpec", _DELETE), "'headGroupSpec' is a required"),
    ("rayjob", _set("spec.rayClusterSpec.headGroupSpec.rayStartParams.num-cpus", 0),
     "is not of type 'string'"),
    ("rayjob", _set("spec.rayClusterSpec.workerGroupSpecs.1.maxReplicas", _DELETE),
     "'maxReplicas' is a required"),
    ("rayjob", _set("spec.rayClusterSpec.workerGroupSpecs.1.minReplicas", 5), "minReplicas <="),
    ("rayjob", _set("spec.rayClusterSpec.workerGroupSpecs.1.replicas", 5), "replicas outside"),
    ("rayjob", _set("spec.rayClusterSpec.authOptions.mode", "tokens"), "is not one of"),
    ("rayjob", _set("spec.rayClusterSpec.rayVersion", "2.51.0"), "2.52.0 or later"),
    ("rayjob", _set("metadata.name", "Guidance_Pipeline"), "DNS-1035"),
    ("rayjob", _set("spec.shutdownAfterJobFinishes", False), "needs shutdownAfterJobFinishes"),
    ("rayservice", _set("spec.serveConfigV2", {"applications": []}), "is not of type 'string'"),
    ("rayservice", _set("spec.rayClusterConfig.headGroupSpec.template.spec.containers.0.ports",
                        []), "port named serve"),
    ("rayservice", _set("spec.rayClusterConfig.headGroupSpec.template.spec.containers.0."
                        "resources.limits.cpu", "two"), "does not match"),
])
def test_broken_kuberay_manifest_is_rejected(name, change, expected, request):
    broken = copy.deepcopy(request.getfixturevalue(name))
    change(broken)
    errors = kuberay_errors(broken)
    assert any(expected in e for e in errors), errors


def test_cel_rules_on_set_fields_are_reported(rayjob):
    managed = copy.deepcopy(rayjob)
    managed["spec"]["managedBy"] = "ray.io/kuberay-operator"
    assert cel_rules_reached(crd_schema("RayJob"), managed) == [
        ".spec.managedBy: self == oldSelf",
        ".spec.managedBy: self in ['ray.io/kuberay-operator', 'kueue.x-k8s.io/multikueue']"]


@pytest.mark.parametrize("change, expected", [
    (_set("applications.0.deployments.0.num_replicas", -1), "greater than 0"),
    (_set("grpc_options.port", "nine"), "valid integer"),
    (_set("applications.0.deployments.0.num_replica", 2), "deployments[0].num_replica"),
    (_set("grpc_option", {}), "grpc_option"),
    (_set("applications.0.import_path", "serving.app:no_such_builder"), "no_such_builder"),
    (_set("grpc_options.grpc_servicer_functions.1", "grpc_health.v1.nothing.add"), "nothing"),
])
def test_broken_serve_config_is_rejected(serve_config_v2, change, expected):
    broken = yaml.safe_load(serve_config_v2)
    change(broken)
    errors = serve_config_errors(yaml.safe_dump(broken))
    assert any(expected in e for e in errors), errors


@pytest.mark.parametrize("entrypoint", [
    "guidance world generate --root s3://b/p && guidance prepare --root s3://b/p",  # unquoted &&
    "bash -c 'guidance train --gpus 1'",  # no such option
    "bash -c 'guidance train --workers two'",  # wrong type
    "bash -c 'guidance wrold generate'",  # no such command
])
def test_broken_entrypoint_is_rejected(entrypoint):
    with pytest.raises((ValueError, typer.TyperException)):
        for step in pipeline_steps(entrypoint):
            parse_cli(step)
