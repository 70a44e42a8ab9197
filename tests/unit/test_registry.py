import pytest

from pipelines.errors import NotFoundError
from pipelines.registry import store
from pipelines.registry.store import RegistryError
from pipelines.storage.root import Root


def test_publish_registers_a_candidate_and_only_promotion_moves_current(tmp_path):
    root = Root(str(tmp_path))
    v1 = store.publish(root, {"a.bin": b"x" * 100}, {"kind": "t"}, version="v1")
    assert store.latest(root) == "v1" and store.current_or_none(root) is None
    with pytest.raises(NotFoundError, match="has been promoted: run `guidance evaluate`, then "
                                            "`guidance promote`"):
        store.current(root)
    store.set_current(root, v1)
    v2 = store.publish(root, {"a.bin": b"y" * 10}, {"kind": "t"}, version="v2")
    assert (v1, v2) == ("v1", "v2")
    assert store.current(root) == "v1" and store.latest(root) == "v2"  # served: still v1
    meta, files = store.load(root)  # default: the version served
    assert meta["version"] == "v1" and files == {"a.bin": b"x" * 100}
    assert store.load(root, "v2")[1]["a.bin"] == b"y" * 10
    store.set_current(root, "v2")
    assert store.current(root) == "v2"
    with pytest.raises(RegistryError, match="already exists"):
        store.publish(root, {"a.bin": b""}, {}, version="v1")
    for reserved in ("current", "latest", "promotions"):
        with pytest.raises(RegistryError, match="is a reserved name"):
            store.publish(root, {"a.bin": b""}, {}, version=reserved)
    with pytest.raises(NotFoundError, match="no registry version 'v9'"):
        store.set_current(root, "v9")
    assert store.current(root) == "v2"


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_bytes(p.read_bytes()[:50]), "is corrupt: a.bin has 50 bytes"),
    (lambda p: p.write_bytes(b"z" * 100), "is corrupt: a.bin"),
    (lambda p: p.unlink(), "is incomplete: a.bin missing"),
    (lambda p: (p.parent / "metadata.json").unlink(), "is incomplete: metadata.json missing"),
    (lambda p: (p.parent / "metadata.json").write_text("{"), "metadata.json is corrupt"),
])
def test_loader_refuses_a_damaged_version(tmp_path, damage, message):
    root = Root(str(tmp_path))
    store.publish(root, {"a.bin": b"x" * 100}, {}, version="v1")
    damage(tmp_path / "registry" / "v1" / "a.bin")
    with pytest.raises(RegistryError, match=message):
        store.load(root, "v1")


def test_no_model_yet(tmp_path):
    with pytest.raises(NotFoundError, match="run `guidance train`"):
        store.load(Root(str(tmp_path)))
    with pytest.raises(NotFoundError, match="no model registered .*run `guidance train`"):
        store.latest(Root(str(tmp_path)))
