"""`guidance train`'s typed configs: bad settings get the exact error each deserves, the loop
configs cross the Ray boundary as plain data and come back equal, and the CLI refuses a bad
combination in one line before anything starts."""

import json

import numpy as np
import pytest
from pydantic import BaseModel, ValidationError
from typer.testing import CliRunner

from cli.main import app
from pipelines.models.config import RetrievalConfig, TrainConfig
from pipelines.models.features import FeatureSpec
from pipelines.models.loop_config import ItemArrays, RankerLoopConfig, TwoTowerLoopConfig
from pipelines.models.two_tower import ITEM_FACT_SIZES, MAX_TOKENS


def _error(exc: ValidationError) -> tuple[tuple, str]:
    errors = exc.errors()
    assert len(errors) == 1, errors
    return errors[0]["loc"], errors[0]["msg"]


BELOW_EPOCHS = "Value error, must be below epochs ({e}): the epochs run are 0 to {last}; " \
               "pass at most {last}, or leave it unset"

BAD_TRAIN = [
    ({"epochs": 2, "average_from_epoch": 2}, ("average_from_epoch",),
     BELOW_EPOCHS.format(e=2, last=1)),
    ({"average_from_epoch": 8}, ("average_from_epoch",), BELOW_EPOCHS.format(e=8, last=7)),
    ({"epochs": 1, "average_from_epoch": 4}, ("average_from_epoch",),
     BELOW_EPOCHS.format(e=1, last=0)),
    # an invalid epochs is the one error: the rule that needs it is not checked against it
    ({"epochs": 0, "average_from_epoch": 3}, ("epochs",),
     "Input should be greater than or equal to 1"),
    ({"average_from_epoch": -1}, ("average_from_epoch",),
     "Input should be greater than or equal to 0"),
    ({"seed": 2**32}, ("seed",), "Input should be less than 4294967296"),
    ({"run_name": "a b"}, ("run_name",), "String should match pattern '^[A-Za-z0-9._-]{1,80}$'"),
    ({"retrieval_epochs": 3}, ("retrieval_epochs",), "Extra inputs are not permitted"),
    ({"retrieval": {"epochs": 0}}, ("retrieval", "epochs"),
     "Input should be greater than or equal to 1"),
    ({"retrieval": {"batch_size": 4}}, ("retrieval", "batch_size"),
     "Input should be greater than or equal to 8"),
    ({"retrieval": {"learning_rate": 0}}, ("retrieval", "learning_rate"),
     "Input should be greater than 0"),
    ({"retrieval": {"random_negatives": -1}}, ("retrieval", "random_negatives"),
     "Input should be greater than or equal to 0"),
    ({"retrieval": {"temperature": 0}}, ("retrieval", "temperature"),
     "Input should be greater than 0"),
    ({"retrieval": {"negatives": 5}}, ("retrieval", "negatives"),
     "Extra inputs are not permitted"),
]


@pytest.mark.parametrize("values, loc, message", BAD_TRAIN)
def test_bad_train_configs_get_their_exact_error(values, loc, message):
    with pytest.raises(ValidationError) as e:
        TrainConfig(root="/tmp/unused", **values)
    assert _error(e.value) == (loc, message)


@pytest.mark.parametrize("values, start", [
    ({}, 4), ({"epochs": 2}, 1), ({"epochs": 1}, 0), ({"epochs": 5}, 4),
    ({"epochs": 2, "average_from_epoch": 0}, 0), ({"epochs": 9, "average_from_epoch": 8}, 8),
])
def test_the_average_starts_where_asked_or_by_the_default_rule(values, start):
    assert TrainConfig(root="/tmp/unused", **values).average_start == start


@pytest.mark.parametrize("model", [TrainConfig, RetrievalConfig, RankerLoopConfig,
                                   TwoTowerLoopConfig, ItemArrays])
def test_every_field_is_described(model: type[BaseModel]):
    assert [n for n, f in model.model_fields.items() if not f.description] == []


def _spec(**changes) -> FeatureSpec:
    values = dict(numeric=[f"x{i}" for i in range(3)], mean=[0.0] * 3, std=[1.0] * 3,
                  with_missing_flag=["x1"], categorical=["a", "b"],
                  vocab={"a": ["1", "2"], "b": ["1", "2", "3"]})
    return FeatureSpec(**{**values, **changes})


def _items(n=5, **changes) -> dict:
    values = dict(action=np.arange(n, dtype=np.int64) % 3, kind=np.ones(n, np.int64),
                  vertical=np.zeros(n, np.int64),
                  tokens=np.arange(n * MAX_TOKENS, dtype=np.int64).reshape(n, MAX_TOKENS))
    return {**values, **changes}


JOB = TrainConfig(root="/tmp/r", epochs=3, average_from_epoch=1, members=2, seed=11,
                  retrieval=RetrievalConfig(epochs=4, random_negatives=0))


def test_the_ranker_loop_config_crosses_the_boundary_as_plain_data_and_comes_back_equal():
    loop = RankerLoopConfig(job=JOB, spec=_spec())
    dumped = loop.model_dump()
    assert json.loads(json.dumps(dumped)) == dumped  # lists, dicts, numbers: no objects, no JSON
    assert isinstance(dumped["spec"], dict) and dumped["job"]["retrieval"]["epochs"] == 4
    back = RankerLoopConfig.model_validate(dumped)
    assert back == loop and back.job.average_start == 1


def test_the_two_tower_loop_config_round_trips_its_item_arrays():
    loop = TwoTowerLoopConfig(job=JOB, spec=_spec(), items=ItemArrays(**_items()))
    back = TwoTowerLoopConfig.model_validate(loop.model_dump())
    assert back.job == JOB and back.spec == loop.spec and len(back.items) == 5
    for k, v in _items().items():
        assert np.array_equal(getattr(back.items, k), v)


def test_the_worker_refuses_a_dumped_config_the_driver_would_have_refused():
    dumped = RankerLoopConfig(job=JOB, spec=_spec()).model_dump()
    dumped["job"]["average_from_epoch"] = 3
    with pytest.raises(ValidationError) as e:
        RankerLoopConfig.model_validate(dumped)
    assert _error(e.value) == (("job", "average_from_epoch"), BELOW_EPOCHS.format(e=3, last=2))


BAD_SPECS = [
    (dict(mean=[0.0, 0.0]), "Value error, 3 numeric columns but 2 means and 3 standard deviations"),
    (dict(std=[1.0, 0.0, 1.0]), "Value error, standard deviations must be positive"),
    (dict(with_missing_flag=["a"]),
     "Value error, missing flags on columns that are not numeric: ['a']"),
    (dict(vocab={"a": ["1"]}),
     "Value error, vocabularies for ['a'] but categorical columns ['a', 'b']"),
]


@pytest.mark.parametrize("changes, message", BAD_SPECS)
def test_an_inconsistent_feature_spec_is_refused(changes, message):
    with pytest.raises(ValidationError) as e:
        RankerLoopConfig(job=JOB, spec=_spec(**changes))
    assert _error(e.value) == (("spec",), message)


N_ACTIONS = ITEM_FACT_SIZES["action"]
BAD_ITEMS = [
    (dict(action=np.zeros(0, np.int64), kind=np.zeros(0, np.int64),
          vertical=np.zeros(0, np.int64), tokens=np.zeros((0, MAX_TOKENS), np.int64)),
     "Value error, no items"),
    (dict(kind=np.ones(5, np.int32)), "Value error, kind: expected int64 (5,), found int32 (5,)"),
    (dict(vertical=np.zeros(4, np.int64)),
     "Value error, vertical: expected int64 (5,), found int64 (4,)"),
    (dict(tokens=np.zeros((5, 3), np.int64)),
     f"Value error, tokens: expected int64 (5, {MAX_TOKENS}), found int64 (5, 3)"),
    (dict(kind=np.array([0, 1, 2, 3, 1])),
     "Value error, kind: 1 items with a value outside 0..2, e.g. row 3"),
    (dict(action=np.array([0, -1, 0, 0, -2])),
     f"Value error, action: 2 items with a value outside 0..{N_ACTIONS - 1}, e.g. row 1"),
]


@pytest.mark.parametrize("changes, message", BAD_ITEMS)
def test_item_facts_an_embedding_table_cannot_hold_are_refused(changes, message):
    with pytest.raises(ValidationError) as e:
        ItemArrays(**_items(**changes))
    assert _error(e.value) == ((), message)
    with pytest.raises(ValidationError):  # and inside a loop config, where the worker sees it
        TwoTowerLoopConfig.model_validate({"job": JOB.model_dump(), "spec": _spec(),
                                           "items": _items(**changes)})


def test_the_cli_refuses_averaging_past_the_last_epoch_in_one_line(tmp_path):
    result = CliRunner().invoke(app, ["train", "--root", str(tmp_path), "--epochs", "2",
                                      "--average-from-epoch", "2"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: invalid average_from_epoch: {BELOW_EPOCHS.format(e=2, last=1)} (got 2)"]
    assert list(tmp_path.iterdir()) == []


def test_the_cli_refuses_a_bad_retrieval_setting_in_one_line(tmp_path):
    result = CliRunner().invoke(app, ["train", "--root", str(tmp_path), "--retrieval-epochs",
                                      "0"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: invalid retrieval.epochs: Input should be greater than or equal to 1 (got 0)"]


def test_the_run_resumes_across_more_epochs_of_either_model_but_not_another_model(tmp_path):
    from pipelines.models.train import claim_run
    from pipelines.storage.root import Root

    root, cfg = Root(str(tmp_path)), TrainConfig(root=str(tmp_path))
    with root.staging("snapshot") as staged:
        root.fs.create_dir(f"{staged}/snapshots/s1", recursive=True)
        with root.fs.open_output_stream(f"{staged}/snapshots/s1/manifest.json") as f:
            f.write(b'{"created_at": "t0"}')
        root.publish(staged, ["snapshots/s1"], overwrite=False)
    name = claim_run(root, cfg, "s1")
    more = cfg.model_copy(update={"epochs": 20, "retrieval": RetrievalConfig(epochs=30)})
    assert claim_run(root, more, "s1") == name
    assert claim_run(root, cfg.model_copy(update={"average_from_epoch": 4}), "s1") != name
    other = cfg.model_copy(update={"retrieval": RetrievalConfig(batch_size=512)})
    assert claim_run(root, other, "s1") != name
