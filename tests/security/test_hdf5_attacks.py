"""Hostile HDF5 weights, inside a real `.keras` archive and as a real
`.weights.h5`: each attack must raise `InvalidFileError` naming the group or
dataset at fault, and each has a benign twin that loads."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from security_zip_forge import archive_with, edit_h5

import kiln
import kiln.saving
from kiln._src.saving.errors import InvalidFileError

SECRET = b"TOP-SECRET-0123456789abc"  # 24 bytes: a (3, 2) float32 kernel


def _model() -> kiln.Model:
    return kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2, name="dense")])


@pytest.fixture(scope="module")
def honest_weights(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("weights") / "honest.weights.h5"
    _model().save_weights(str(path))
    return path.read_bytes()


@pytest.fixture
def secrets(tmp_path):
    """A raw secret file and an HDF5 file holding the secret as weights."""
    raw = tmp_path / "secret.bin"
    raw.write_bytes(SECRET)
    other = tmp_path / "secret.h5"
    with h5py.File(other, "w") as h5:
        kernel = np.frombuffer(SECRET, "f4").reshape(3, 2)
        for group in ("layers/dense/vars", "vars"):
            h5.require_group(group).create_dataset("0", data=kernel)
            h5[group].create_dataset("1", data=np.zeros(2, "f4"))
    return str(raw), str(other)


@pytest.fixture(params=["keras", "weights"])
def attempt(request, tmp_path, honest_members, honest_weights):
    """`attempt(edit)` applies `edit(h5py.File)` to the honest weights (the
    `.keras` member or the `.weights.h5` file) and loads the result: returns
    the model, or raises what the load raised. A failed `load_weights` must
    leave the model's weights as they were."""
    kind = request.param

    def run(edit):
        scratch = str(tmp_path)
        if kind == "keras":
            weights = edit_h5(honest_members["model.weights.h5"], edit, scratch)
            path = tmp_path / "model.keras"
            path.write_bytes(archive_with(honest_members, model_weights_h5=weights))
            return kiln.saving.load_model(str(path))
        path = tmp_path / "model.weights.h5"
        path.write_bytes(edit_h5(honest_weights, edit, scratch))
        model = _model()
        before = [np.array(w) for w in model.get_weights()]
        try:
            model.load_weights(str(path))
        except InvalidFileError:
            for old, new in zip(before, model.get_weights(), strict=True):
                np.testing.assert_array_equal(old, np.array(new))
            raise
        return model

    return run


def _assert_secret_absent(model) -> None:
    for weight in model.get_weights():
        assert SECRET not in np.array(weight).tobytes()


def _replace(key: str, **create):
    def edit(h5: h5py.File) -> None:
        data = h5[key][()]
        del h5[key]
        if "data" not in create and "shape" not in create:
            create["data"] = data
        h5.create_dataset(key, **create)

    return edit


def _relink(at: str, make_link):
    def edit(h5: h5py.File) -> None:
        link = make_link(h5)
        del h5[at]
        h5[at] = link

    return edit


def _copy_to(h5: h5py.File, source: str, destination: str) -> None:
    h5.copy(h5[source], destination)


# -- links --


@pytest.mark.parametrize(
    "at", ["layers", "layers/dense", "layers/dense/vars", "layers/dense/vars/0"]
)
def test_soft_link_is_refused(attempt, at):
    def make(h5):
        _copy_to(h5, at, "evil")
        return h5py.SoftLink("/evil")

    with pytest.raises(InvalidFileError, match=f"'{at}' is a SoftLink"):
        attempt(_relink(at, make))


@pytest.mark.parametrize(
    "at", ["layers", "layers/dense", "layers/dense/vars", "layers/dense/vars/0"]
)
def test_external_link_is_refused(attempt, secrets, at):
    target = "/" + at if at.startswith("layers/dense/vars") else "/layers"
    if at == "layers/dense":
        target = "/layers/dense"
    with pytest.raises(InvalidFileError, match=f"'{at}' is a ExternalLink"):
        attempt(_relink(at, lambda h5: h5py.ExternalLink(secrets[1], target)))


def test_hard_links_rewritten_in_place_load(attempt):
    """Benign twin of the link attacks: the same groups, as fresh hard links."""

    def edit(h5):
        _copy_to(h5, "layers", "moved")
        del h5["layers"]
        h5.move("moved", "layers")

    model = attempt(edit)
    assert model.get_layer("dense").kernel.shape == (3, 2)


@pytest.mark.parametrize(
    "make_cycle",
    [
        lambda h5: h5["layers/dense"].__setitem__("loop", h5["layers/dense"]),
        lambda h5: h5["layers/dense/vars"].__setitem__("up", h5["/"]),
    ],
    ids=["self", "root"],
)
def test_hard_link_cycle_is_refused(attempt, make_cycle):
    with pytest.raises(InvalidFileError, match="hard-linked from 2 places"):
        attempt(make_cycle)


def test_extra_hard_linked_group_elsewhere_loads(attempt):
    """Benign twin of the cycle: an extra group nothing expects is ignored."""
    attempt(lambda h5: h5.require_group("junk/deeper"))


# -- dataset storage --


def test_external_storage_is_refused_and_secret_never_read(attempt, secrets):
    edit = _replace(
        "layers/dense/vars/0",
        shape=(3, 2),
        dtype="f4",
        external=[(secrets[0], 0, len(SECRET))],
    )
    with pytest.raises(
        InvalidFileError, match="'layers/dense/vars/0' stores its data in an external"
    ):
        attempt(edit)


def test_same_shape_in_file_storage_loads_without_the_secret(attempt):
    model = attempt(_replace("layers/dense/vars/0", data=np.zeros((3, 2), "f4")))
    _assert_secret_absent(model)


def test_virtual_dataset_is_refused(attempt, secrets):
    def edit(h5):
        del h5["layers/dense/vars/0"]
        layout = h5py.VirtualLayout(shape=(3, 2), dtype="f4")
        layout[:] = h5py.VirtualSource(secrets[1], "vars/0", shape=(3, 2))
        h5["layers/dense/vars"].create_virtual_dataset("0", layout)

    with pytest.raises(InvalidFileError, match="'layers/dense/vars/0' is a virtual"):
        attempt(edit)


def test_chunked_gzip_shape_bomb_is_refused(attempt):
    # 2**20 x 2**20 float32 = 4 TiB declared, nothing stored.
    edit = _replace(
        "layers/dense/vars/0",
        shape=(1 << 20, 1 << 20),
        dtype="f4",
        chunks=(1 << 10, 1 << 8),
        compression="gzip",
    )
    with pytest.raises(
        InvalidFileError, match="'layers/dense/vars/0' is stored with the deflate"
    ):
        attempt(edit)


def test_uncompressed_shape_bomb_is_refused(attempt):
    edit = _replace(
        "layers/dense/vars/0", shape=(1 << 20, 1 << 20), dtype="f4", chunks=(64, 64)
    )
    with pytest.raises(ValueError, match="'layers/dense/vars/0' has shape"):
        attempt(edit)


def test_chunked_with_allowed_filters_loads(attempt):
    model = attempt(
        _replace("layers/dense/vars/0", chunks=(1, 2), shuffle=True, fletcher32=True)
    )
    assert model.get_layer("dense").kernel.shape == (3, 2)


# -- element types and kinds --


@pytest.mark.parametrize(
    "dtype, problem",
    [
        (np.dtype([("a", "f4"), ("b", "f4")]), "compound"),
        (h5py.string_dtype(), "string"),
        (np.dtype(("f4", (1 << 16,))), "array"),
        (np.dtype("V4"), "4-byte opaque"),
    ],
    ids=["compound", "vlen-string", "array", "opaque"],
)
def test_non_numeric_dtype_is_refused(attempt, dtype, problem):
    edit = _replace("layers/dense/vars/0", shape=(3, 2), dtype=dtype)
    with pytest.raises(InvalidFileError, match=f"'layers/dense/vars/0' has {problem}"):
        attempt(edit)


def test_float64_dataset_loads(attempt):
    model = attempt(_replace("layers/dense/vars/0", data=np.ones((3, 2), "f8")))
    np.testing.assert_array_equal(model.get_layer("dense").kernel, np.ones((3, 2)))


def test_group_where_a_dataset_is_expected_is_refused(attempt):
    def edit(h5):
        del h5["layers/dense/vars/0"]
        h5["layers/dense/vars"].create_group("0")

    with pytest.raises(
        InvalidFileError, match="'layers/dense/vars/0' should be a dataset"
    ):
        attempt(edit)


def test_dataset_where_a_group_is_expected_is_refused(attempt):
    def edit(h5):
        del h5["layers/dense"]
        h5.create_dataset("layers/dense", data=[1.0])

    with pytest.raises(InvalidFileError, match="'layers/dense' should be a group"):
        attempt(edit)


# -- attributes --


def test_attribute_bomb_is_never_read(attempt):
    """Attributes kiln does not use are never read: a 4 MiB `name` on the
    group and a 4 MiB `dtype` on a float dataset change nothing."""

    def edit(h5):
        big = "x" * (4 << 20)
        h5["layers/dense/vars"].attrs["name"] = big
        h5["layers/dense/vars/0"].attrs["dtype"] = big

    model = attempt(edit)
    assert model.get_layer("dense").kernel.shape == (3, 2)


def test_fixed_length_attribute_bomb_on_bfloat16_is_refused(tmp_path):
    model = kiln.Sequential(
        [kiln.Input((3,)), kiln.layers.Dense(2, name="dense", dtype="bfloat16")]
    )
    path = tmp_path / "b.weights.h5"
    model.save_weights(str(path))
    model.load_weights(str(path))  # benign twin: Keras's marker loads
    with h5py.File(path, "r+", libver="latest") as h5:
        # Recreated in the newest format, which stores attributes over 64 KiB.
        data = h5["layers/dense/vars/0"][()]
        del h5["layers/dense/vars/0"]
        dataset = h5["layers/dense/vars"].create_dataset("0", data=data)
        dataset.attrs.create("dtype", b"b" * (1 << 20), dtype="S1048576")
    with pytest.raises(
        InvalidFileError, match="'layers/dense/vars/0'.*over the 65536-byte limit"
    ):
        model.load_weights(str(path))


_RSS_CHILD = """
import resource, sys
import kiln

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

model = kiln.Sequential(
    [kiln.Input((3,)), kiln.layers.Dense(2, name="dense", dtype="bfloat16")]
)
model.load_weights(sys.argv[1])  # warm up: every code path once
before = peak()
model.load_weights(sys.argv[2])
print(peak() - before)
"""


def test_vlen_attribute_bomb_on_bfloat16_is_never_read(tmp_path):
    """Keras's bfloat16 marker is a variable-length string, which libhdf5
    reads whole (about 5x its size in memory) before anything can check it;
    kiln never reads its value, so a 64 MiB one costs no memory."""
    import subprocess
    import sys

    model = kiln.Sequential(
        [kiln.Input((3,)), kiln.layers.Dense(2, name="dense", dtype="bfloat16")]
    )
    honest = tmp_path / "honest.weights.h5"
    model.save_weights(str(honest))
    bomb = tmp_path / "bomb.weights.h5"
    bomb.write_bytes(honest.read_bytes())
    with h5py.File(bomb, "r+") as h5:
        h5["layers/dense/vars/0"].attrs["dtype"] = "bfloat16" + " " * (64 << 20)
    result = subprocess.run(
        [sys.executable, "-c", _RSS_CHILD, str(honest), str(bomb)],
        capture_output=True,
        text=True,
        check=True,
    )
    grown = int(result.stdout.split()[-1])
    assert grown < 16 << 20, f"peak memory grew by {grown} bytes"


# -- bytes the file does not hold (storage never written) --


@pytest.mark.parametrize(
    "create, message",
    [
        ({}, "declares 24 bytes but its storage holds 0"),
        ({"chunks": (1, 2)}, "has 0 of its 3 chunks written"),
        ({"fillvalue": 1.0}, "declares 24 bytes but its storage holds 0"),
    ],
    ids=["contiguous", "chunked", "fill-value"],
)
def test_unallocated_dataset_is_refused(attempt, create, message):
    # The kernel's shape and dtype, but no bytes: libhdf5 would hand back
    # its fill value, and a reader that trusted the declared size would
    # allocate it whatever the file holds.
    edit = _replace("layers/dense/vars/0", shape=(3, 2), dtype="f4", **create)
    with pytest.raises(InvalidFileError, match="'layers/dense/vars/0' " + message):
        attempt(edit)


@pytest.mark.parametrize("chunks", [None, (1, 2)], ids=["contiguous", "chunked"])
def test_dataset_written_after_creation_loads(attempt, chunks):
    def edit(h5):
        data = h5["layers/dense/vars/0"][()]
        del h5["layers/dense/vars/0"]
        dataset = h5.create_dataset(
            "layers/dense/vars/0", shape=(3, 2), dtype="f4", chunks=chunks
        )
        dataset[...] = data

    model = attempt(edit)
    assert model.get_layer("dense").kernel.shape == (3, 2)


@pytest.mark.slow
def test_open_weights_read_of_unallocated_storage_allocates_nothing(tmp_path):
    """A 3 GiB dataset (under the 4 GiB shape-bomb threshold) that stores no
    bytes, in a file of a few KB: `open_weights(...).read` refuses it before
    allocating, under a 2 GiB address-space limit; a small honest dataset in
    the same kind of file is read (the twin)."""
    from isolated import run_calls

    calls = {}
    for label, create in [
        ("bomb", {"shape": (3 << 28,), "dtype": "f4"}),
        ("bomb-chunked", {"shape": (3 << 28,), "dtype": "f4", "chunks": (1 << 18,)}),
        ("twin", {"data": np.ones((3, 2), "f4")}),
    ]:
        path = tmp_path / f"{label}.weights.h5"
        with h5py.File(path, "w") as h5:
            h5.create_dataset("layers/d/vars/0", **create)
        calls[label] = (
            "from kiln._src.saving.weights_file import open_weights\n"
            f"with open_weights({str(path)!r}) as weights:\n"
            "    result = weights.read('layers/d/vars/0').shape\n"
        )
    outcomes = run_calls(calls, timeout_s=120, memory_limit=2 * 2**30)
    for label in ("bomb", "bomb-chunked"):
        assert outcomes[label].invalid_file_error, (label, str(outcomes[label]))
        assert "more than the whole file holds" in outcomes[label].message
    assert outcomes["twin"].result == "(3, 2)", str(outcomes["twin"])


# -- sharded weights: a link in a shard --


@pytest.fixture
def sharded(tmp_path):
    directory = tmp_path / "index"
    directory.mkdir()
    path = directory / "m.weights.json"
    _model().save_weights(str(path), max_shard_size=30 / 1024**3)
    return path


@pytest.mark.parametrize("at", ["layers/dense/vars", "layers/dense/vars/0"])
def test_external_link_in_a_shard_is_refused(sharded, secrets, at):
    _, other = secrets
    shard = sharded.parent / "m_00000.weights.h5"
    with h5py.File(shard, "a") as h5:
        target = "/layers/dense/vars" + at[len("layers/dense/vars") :]
        del h5[at]
        h5[at] = h5py.ExternalLink(other, target)
    model = _model()
    before = [np.array(w) for w in model.get_weights()]
    with pytest.raises(InvalidFileError, match=f"'{at}' is a ExternalLink"):
        model.load_weights(str(sharded))
    for old, new in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, np.array(new))
    _assert_secret_absent(model)
    # The twin: the honest shards load.
    _model().save_weights(str(sharded), max_shard_size=30 / 1024**3)
    model.load_weights(str(sharded))
