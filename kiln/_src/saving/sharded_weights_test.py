import json
import os
import shutil

import h5py
import keras as real_keras
import numpy as np
import pytest

import kiln
from kiln._src.saving import sharded_weights
from kiln._src.saving.errors import InvalidFileError

X = np.linspace(-1, 1, 32, dtype="float32").reshape(4, 8)
Y = np.linspace(0, 1, 16, dtype="float32").reshape(4, 4)


def _model(lib, seed=0, train=True):
    """A model with optimizer state: trained one step, or (faster, for load
    targets) with its optimizer built and its weights set from ``seed``."""
    model = lib.Sequential(
        [
            lib.Input((8,)),
            lib.layers.Dense(16, name="a"),
            lib.layers.BatchNormalization(name="bn"),
            lib.layers.Dense(4, name="b"),
        ],
        name="s",
    )
    # An explicit name: kiln numbers auto-named optimizers (adam_1, ...).
    model.compile(optimizer=lib.optimizers.Adam(name="adam"), loss="mse")
    if train:
        model.fit(X, Y, epochs=1, verbose=0)
        return model
    model.optimizer.build(model.trainable_variables)
    rng = np.random.default_rng(seed)
    for variable in model.weights + model.optimizer.variables[1:]:
        variable.assign(rng.normal(size=variable.shape).astype(variable.dtype))
    return model


@pytest.fixture(scope="module")
def trained():
    return {"kiln": _model(kiln), "keras": _model(real_keras)}


def _values(model):
    return [np.array(v) for v in model.weights + model.optimizer.variables]


def _assert_same(left, right):
    assert len(left) == len(right)
    for a, b in zip(left, right, strict=True):
        np.testing.assert_array_equal(a, b)


def _tree(directory):
    tree = {}
    for name in sorted(os.listdir(directory)):
        if name.endswith(".h5"):
            rows = []

            def visit(item, obj, rows=rows):
                rows.append((item, dict(obj.attrs), getattr(obj, "shape", None)))

            with h5py.File(os.path.join(directory, name), "r") as h5:
                h5.visititems(visit)
            tree[name] = rows
    return tree


@pytest.mark.parametrize("size_bytes", [600, 1000, 5000, 10**6])
def test_round_trip_with_optimizer_state(tmp_path, size_bytes, trained):
    source = trained["kiln"]
    path = tmp_path / "m.weights.json"
    source.save_weights(path, max_shard_size=size_bytes / 1024**3)
    index = json.loads(path.read_text())
    shards = {n for v in index["weight_map"].values() for n in np.atleast_1d(v)}
    assert "/optimizer/vars" in index["weight_map"]
    assert (len(shards) > 1) == (size_bytes < 3064)
    target = _model(kiln, seed=3, train=False)
    target.load_weights(path)
    _assert_same(_values(target), _values(source))
    np.testing.assert_allclose(
        target.predict(X, verbose=0), source.predict(X, verbose=0), atol=1e-6
    )


@pytest.mark.parametrize("size_bytes", [600, 1000, 10**6])
def test_files_match_keras_exactly(tmp_path, size_bytes, trained):
    for name in ("keras", "kiln"):
        (tmp_path / name).mkdir()
        trained[name].save_weights(
            tmp_path / name / "m.weights.json", max_shard_size=size_bytes / 1024**3
        )
    ours, theirs = tmp_path / "kiln", tmp_path / "keras"
    assert sorted(os.listdir(ours)) == sorted(os.listdir(theirs))
    index = (theirs / "m.weights.json").read_bytes()
    assert (ours / "m.weights.json").read_bytes() == index
    ours_tree, theirs_tree = _tree(ours), _tree(theirs)
    for name, rows in theirs_tree.items():
        for mine, keras_row in zip(ours_tree[name], rows, strict=True):
            assert mine == keras_row, name


def test_kiln_save_loads_in_keras_and_back(tmp_path, trained):
    ours = trained["kiln"]
    ours.save_weights(tmp_path / "k.weights.json", max_shard_size=1000 / 1024**3)
    theirs = _model(real_keras, seed=5, train=False)
    theirs.load_weights(str(tmp_path / "k.weights.json"))
    _assert_same(_values(theirs), _values(ours))
    np.testing.assert_allclose(
        theirs.predict(X, verbose=0), ours.predict(X, verbose=0), atol=1e-6
    )
    theirs.optimizer.learning_rate.assign(0.5)
    (tmp_path / "back").mkdir()
    back = tmp_path / "back" / "r.weights.json"
    theirs.save_weights(str(back), max_shard_size=700 / 1024**3)
    assert len(os.listdir(back.parent)) > 3
    again = _model(kiln, seed=7, train=False)
    reader = sharded_weights.load_sharded_weights(again, str(back), False)
    _assert_same(_values(again), _values(theirs))
    np.testing.assert_allclose(
        again.predict(X, verbose=0), theirs.predict(X, verbose=0), atol=1e-6
    )
    # One shard open at a time, and every shard was read.
    assert reader.max_open == 1
    assert set(reader.opened) == {n for n in os.listdir(back.parent) if "_0" in n}


def test_variable_larger_than_limit_and_filenames(tmp_path):
    model = _model(kiln, train=False)
    with pytest.raises(ValueError, match="larger than the maximum shard size"):
        model.save_weights(tmp_path / "m.weights.json", max_shard_size=100 / 1024**3)
    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError, match="must end in `.weights.json`"):
        model.save_weights(tmp_path / "m.keras", max_shard_size=1)
    with pytest.raises(ValueError, match="must end in `.weights.h5`"):
        model.save_weights(tmp_path / "m.weights.json")
    for bad in (0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="positive"):
            model.save_weights(tmp_path / "m.weights.json", max_shard_size=bad)
    with pytest.raises(TypeError, match="number of GiB"):
        model.save_weights(tmp_path / "m.weights.json", max_shard_size="1")
    assert os.listdir(tmp_path) == []
    with pytest.warns(UserWarning, match="renamed to"):
        kiln.saving.save_weights(model, tmp_path / "h.weights.h5", max_shard_size=1)
    assert sorted(os.listdir(tmp_path)) == ["h.weights.json", "h_00000.weights.h5"]
    with pytest.raises(FileExistsError):
        model.save_weights(tmp_path / "h.weights.json", False, max_shard_size=1)


def test_failed_save_leaves_previous_files_alone(tmp_path):
    model = _model(kiln, train=False)
    path = tmp_path / "m.weights.json"
    model.save_weights(path, max_shard_size=1000 / 1024**3)
    before = {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)}
    os.remove(tmp_path / "m_00002.weights.h5")
    os.mkdir(tmp_path / "m_00002.weights.h5")  # the third shard cannot be written
    del before["m_00002.weights.h5"]
    changed = _model(kiln, seed=9, train=False)
    with pytest.raises(IsADirectoryError):
        changed.save_weights(path, max_shard_size=1000 / 1024**3)
    after = {
        n: (tmp_path / n).read_bytes() for n in os.listdir(tmp_path) if "2" not in n
    }
    assert after == before  # no new index, no new shard, no temporaries


# -- hostile files ---------------------------------------------------------------


@pytest.fixture
def saved(tmp_path, trained):
    (tmp_path / "d").mkdir()
    path = tmp_path / "d" / "m.weights.json"
    trained["kiln"].save_weights(path, max_shard_size=1000 / 1024**3)
    return path


def _rewrite_index(path, change):
    index = json.loads(path.read_text())
    change(index["weight_map"])
    path.write_text(json.dumps(index))


def _assert_rejected(path, match, error=InvalidFileError):
    model = _model(kiln, seed=2, train=False)
    values = _values(model)
    files = {n: os.path.getmtime(path.parent / n) for n in os.listdir(path.parent)}
    with pytest.raises(error, match=match):
        model.load_weights(path)
    _assert_same(_values(model), values)  # nothing assigned
    assert {
        n: os.path.getmtime(path.parent / n) for n in os.listdir(path.parent)
    } == files


@pytest.mark.parametrize(
    "name",
    [
        "../m_00000.weights.h5",
        "d/m_00000.weights.h5",
        "/etc/m_00000.weights.h5",
        "..",
        "m_00000.weights.h5/../m_00001.weights.h5",
        "evil.h5",
        ".m_00000.weights.h5",
        "m\\..\\m_00000.weights.h5",
        7,
    ],
)
def test_shard_names_must_be_plain_names_in_the_directory(saved, name):
    def change(weight_map):
        weight_map["/layers/dense_1/vars"] = [name]

    _rewrite_index(saved, change)
    _assert_rejected(saved, "weight_map")


def test_shard_link_leaving_the_directory_is_refused(saved, tmp_path):
    outside = tmp_path / "x_00000.weights.h5"
    os.replace(saved.parent / "m_00001.weights.h5", outside)
    os.symlink(outside, saved.parent / "m_00001.weights.h5")
    _assert_rejected(saved, "shard 'm_00001.weights.h5': it is a symbolic link")


def test_shard_symlink_inside_the_directory_is_refused(saved):
    # Even a link to a file beside it: a shard is a file of its own.
    shard = saved.parent / "m_00001.weights.h5"
    os.replace(shard, saved.parent / "copy.h5")
    os.symlink("copy.h5", shard)
    _assert_rejected(saved, "shard 'm_00001.weights.h5': it is a symbolic link")


def test_shard_hard_linked_to_a_file_outside_is_refused(saved, tmp_path):
    shard = saved.parent / "m_00001.weights.h5"
    outside = tmp_path / "elsewhere.weights.h5"
    os.replace(shard, outside)
    os.link(outside, shard)
    _assert_rejected(saved, "shard 'm_00001.weights.h5': it has 2 hard links")
    # Its benign twin: the same bytes as a file of its own load.
    os.remove(shard)
    shutil.copyfile(outside, shard)
    model = _model(kiln, seed=2, train=False)
    model.load_weights(saved)


def test_shard_that_is_a_directory_is_refused(saved):
    shard = saved.parent / "m_00001.weights.h5"
    os.remove(shard)
    shard.mkdir()
    _assert_rejected(saved, "shard 'm_00001.weights.h5': it is a directory")


def test_missing_shard(saved):
    os.remove(saved.parent / "m_00002.weights.h5")
    _assert_rejected(saved, "m_00002.weights.h5.*does not exist")


def test_index_lists_shard_without_the_group(saved):
    _rewrite_index(
        saved, lambda m: m.update({"/layers/dense/vars": ["m_00003.weights.h5"]})
    )
    _assert_rejected(saved, "m_00003.weights.h5.*no such group")


def test_dataset_in_two_shards(saved):
    with h5py.File(saved.parent / "m_00003.weights.h5", "a") as h5:
        h5.create_dataset("optimizer/vars/5", data=np.zeros((16,), "float32"))
    _assert_rejected(saved, "in both shard")


def test_shard_with_wrong_shapes(saved):
    with h5py.File(saved.parent / "m_00001.weights.h5", "a") as h5:
        del h5["layers/dense_1/vars/0"]
        h5.create_dataset("layers/dense_1/vars/0", data=np.zeros((3, 3), "float32"))
    # A shape that does not fit the model is a mismatch, as in a single
    # `.weights.h5` (ValueError; `skip_mismatch=True` skips it).
    _assert_rejected(saved, r"m_00001.weights.h5.*layers/dense_1/vars/0", ValueError)


def test_shard_with_non_numeric_dataset(saved):
    with h5py.File(saved.parent / "m_00001.weights.h5", "a") as h5:
        del h5["layers/dense_1/vars/1"]
        h5.create_dataset("layers/dense_1/vars/1", data=np.array(["abcd"] * 4, "S4"))
    _assert_rejected(saved, r"m_00001.weights.h5.*dense_1/vars/1.*not numeric")


def test_shard_that_is_not_hdf5(saved):
    (saved.parent / "m_00002.weights.h5").write_bytes(b"not hdf5")
    _assert_rejected(saved, "m_00002.weights.h5.*not a readable HDF5")


@pytest.mark.parametrize(
    "text, match",
    [
        (b'{"weight_map": {"/vars": "a_00000.weights.h5"}, "weight_map": {}}', "twice"),
        (b"not json", "m.weights.json"),
        (b"[]", "m.weights.json"),
        (b'{"metadata": {}}', "no 'weight_map'"),
        (b'{"weight_map": {"/layers/x": "m_00000.weights.h5"}}', "not a variable"),
        (b'{"weight_map": {"/vars": []}}', "non-empty list"),
        (b'{"weight_map": {"/vars": ["m_00000.weights.h5"] }, "metadata": 3}', "meta"),
        (
            b'{"weight_map": {"/vars": ["m_00000.weights.h5", "m_00000.weights.h5"]}}',
            "twice",
        ),
        (b'{"weight_map": {' + b"[" * 500 + b"}}", "m.weights.json"),
    ],
)
def test_hostile_index(saved, text, match):
    saved.write_bytes(text)
    _assert_rejected(saved, match)


def test_index_lists_a_shard_without_datasets_of_the_group(saved):
    # Keras lists a shard for a group only when it wrote one of the group's
    # datasets there; a listing standing for nothing is refused, so a hostile
    # index cannot make a load open shards without bound.
    index = json.loads(saved.read_text())
    listed = index["weight_map"]["/layers/dense/vars"]
    listed = [listed] if isinstance(listed, str) else listed
    other = next(
        name
        for name in sorted(os.listdir(saved.parent))
        if name.endswith(".weights.h5") and name not in listed
    )
    with h5py.File(saved.parent / other, "a") as h5:
        h5.require_group("layers/dense/vars")  # empty
    _rewrite_index(saved, lambda m: m.update({"/layers/dense/vars": [*listed, other]}))
    _assert_rejected(saved, f"shard '{other}' for group.*holds no dataset of it")


def test_inspect_listing_opens_each_shard_once(saved):
    # Groups listed alternately across shards: the listing still opens each
    # shard once (the loader's reader, shard by shard).
    raw = json.loads(saved.read_text())
    keys = list(raw["weight_map"])
    mixed = [
        keys[i // 2] if i % 2 == 0 else keys[-1 - i // 2] for i in range(len(keys))
    ]
    raw["weight_map"] = {key: raw["weight_map"][key] for key in mixed}
    saved.write_text(json.dumps(raw))
    index = sharded_weights.ShardIndex(str(saved))
    reader = sharded_weights.ShardedReader(index)
    rows = list(sharded_weights.iter_shard_datasets(index, reader))
    assert len(reader.opened) == len(index.shards) > 2
    assert reader.max_open == 1
    assert len({row[1] for row in rows}) == len(rows) > len(index.shards)
