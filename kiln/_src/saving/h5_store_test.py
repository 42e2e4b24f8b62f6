"""The weights HDF5 store: Keras's layout on write, and every check on read,
on real files made with h5py."""

import h5py
import ml_dtypes
import numpy as np
import pytest

from kiln._src.saving.errors import InvalidFileError
from kiln._src.saving.h5_store import H5Reader, H5Writer


def _write(path, groups):
    writer = H5Writer(str(path))
    for group, (name, values) in groups.items():
        writer.write(group, name, values)
    writer.close()


def test_layout_matches_keras(tmp_path):
    path = tmp_path / "w.weights.h5"
    kernel = np.arange(6, dtype="float32").reshape(2, 3)
    _write(
        path,
        {
            "vars": ("model", []),
            "layers/dense/vars": ("d0", [kernel, np.zeros(3, "float32")]),
            "optimizer/vars": ("adam", [np.int32(7), np.float32(0.5)]),
        },
    )
    with h5py.File(path, "r") as h5:
        assert dict(h5.attrs) == {}  # no file-level attributes
        # An object without variables still gets its (empty) vars group.
        assert list(h5["vars"]) == [] and h5["vars"].attrs["name"] == "model"
        assert h5["layers/dense/vars"].attrs["name"] == "d0"
        assert list(h5["layers/dense/vars"]) == ["0", "1"]
        dataset = h5["layers/dense/vars/0"]
        assert dataset.dtype == np.dtype("<f4")
        assert dataset.chunks is None and dataset.compression is None
        np.testing.assert_array_equal(dataset[()], kernel)
        iteration = h5["optimizer/vars/0"]
        assert iteration.shape == () and iteration.dtype == np.dtype("int32")
        assert iteration[()] == 7


def test_bfloat16_is_opaque_with_a_dtype_attribute(tmp_path):
    path = tmp_path / "w.weights.h5"
    value = np.array([1.5, -2.0, 3.25], dtype=ml_dtypes.bfloat16)
    _write(path, {"layers/dense/vars": ("d", [value])})
    with h5py.File(path, "r") as h5:
        dataset = h5["layers/dense/vars/0"]
        assert dataset.dtype == np.dtype("V2")
        assert dataset.attrs["dtype"] == "bfloat16"
    reader = H5Reader(str(path), "test")
    read = reader.read("layers/dense/vars", "0", (3,), "bfloat16")
    reader.close()
    assert read.dtype == ml_dtypes.bfloat16
    np.testing.assert_array_equal(read.astype("float32"), [1.5, -2.0, 3.25])


@pytest.mark.parametrize(
    "value",
    [
        np.float32(2.5),
        np.arange(4, dtype="float16"),
        np.arange(4, dtype="float64"),
        np.arange(4, dtype="int64"),
        np.zeros((0, 3), "float32"),
    ],
    ids=["scalar", "float16", "float64", "int64", "empty"],
)
def test_values_read_back_exactly(tmp_path, value):
    path = tmp_path / "w.weights.h5"
    _write(path, {"a/vars": ("a", [value])})
    reader = H5Reader(str(path), "test")
    read = reader.read("a/vars", "0", np.shape(value), str(np.asarray(value).dtype))
    reader.close()
    assert read.dtype == np.asarray(value).dtype
    np.testing.assert_array_equal(read, value)


def test_keys_of_a_missing_group_are_empty(tmp_path):
    path = tmp_path / "w.weights.h5"
    _write(path, {"a/vars": ("a", [np.zeros(2)])})
    reader = H5Reader(str(path), "test")
    assert reader.keys("b/vars") == []
    assert reader.keys("a/vars") == ["0"]
    assert reader.has_group("a") and not reader.has_group("a/vars/0")
    reader.close()


def test_shape_mismatch_names_the_dataset_and_both_shapes(tmp_path):
    path = tmp_path / "w.weights.h5"
    _write(path, {"layers/dense/vars": ("d", [np.zeros((3, 2), "float32")])})
    reader = H5Reader(str(path), "'w.weights.h5'")
    with pytest.raises(InvalidFileError) as error:
        reader.read("layers/dense/vars", "0", (4, 2), "float32")
    reader.close()
    message = str(error.value)
    assert "'layers/dense/vars/0'" in message
    assert "(3, 2)" in message and "(4, 2)" in message


def _raw_file(path, build):
    with h5py.File(path, "w") as h5:
        build(h5)


def test_soft_link_is_refused(tmp_path):
    path = tmp_path / "w.weights.h5"
    _raw_file(
        path,
        lambda h5: (
            h5.create_dataset("secret", data=np.ones(2)),
            h5.require_group("a/vars"),
            h5["a/vars"].__setitem__("0", h5py.SoftLink("/secret")),
        ),
    )
    reader = H5Reader(str(path), "test")
    with pytest.raises(InvalidFileError, match="SoftLink; only hard links"):
        reader.read("a/vars", "0", (2,), "float64")
    reader.close()


def test_external_link_is_refused(tmp_path):
    other = tmp_path / "other.h5"
    _raw_file(other, lambda h5: h5.create_dataset("x", data=np.ones(2)))
    path = tmp_path / "w.weights.h5"
    _raw_file(
        path,
        lambda h5: h5.require_group("a/vars").__setitem__(
            "0", h5py.ExternalLink(str(other), "/x")
        ),
    )
    reader = H5Reader(str(path), "test")
    with pytest.raises(InvalidFileError, match="ExternalLink"):
        reader.read("a/vars", "0", (2,), "float64")
    reader.close()


def test_external_storage_dataset_is_refused(tmp_path):
    raw = tmp_path / "raw.bin"
    raw.write_bytes(np.ones(2, "float64").tobytes())
    path = tmp_path / "w.weights.h5"
    _raw_file(
        path,
        lambda h5: h5.require_group("a/vars").create_dataset(
            "0", shape=(2,), dtype="float64", external=[(str(raw), 0, 16)]
        ),
    )
    reader = H5Reader(str(path), "test")
    with pytest.raises(InvalidFileError, match="external file"):
        reader.read("a/vars", "0", (2,), "float64")
    reader.close()


def test_virtual_dataset_is_refused(tmp_path):
    source = tmp_path / "source.h5"
    _raw_file(source, lambda h5: h5.create_dataset("x", data=np.ones(2)))
    path = tmp_path / "w.weights.h5"

    def build(h5):
        layout = h5py.VirtualLayout(shape=(2,), dtype="float64")
        layout[:] = h5py.VirtualSource(str(source), "x", shape=(2,))
        h5.require_group("a/vars").create_virtual_dataset("0", layout)

    _raw_file(path, build)
    reader = H5Reader(str(path), "test")
    with pytest.raises(InvalidFileError, match="virtual dataset"):
        reader.read("a/vars", "0", (2,), "float64")
    reader.close()


def test_non_numeric_dataset_is_refused(tmp_path):
    path = tmp_path / "w.weights.h5"
    _raw_file(
        path,
        lambda h5: h5.require_group("a/vars").create_dataset(
            "0", data=np.array([b"ab", b"cd"])
        ),
    )
    reader = H5Reader(str(path), "test")
    with pytest.raises(InvalidFileError, match="not numeric"):
        reader.read("a/vars", "0", (2,), "float32")
    reader.close()


def test_group_where_a_dataset_belongs_is_refused(tmp_path):
    path = tmp_path / "w.weights.h5"
    _raw_file(path, lambda h5: h5.require_group("a/vars/0"))
    reader = H5Reader(str(path), "test")
    with pytest.raises(InvalidFileError, match="should be a dataset"):
        reader.read("a/vars", "0", (2,), "float32")
    reader.close()


@pytest.mark.parametrize(
    "content", [b"", b"not an hdf5 file at all"], ids=["empty", "garbage"]
)
def test_unreadable_file_is_an_invalid_file_error(tmp_path, content):
    path = tmp_path / "w.weights.h5"
    path.write_bytes(content)
    with pytest.raises(InvalidFileError, match="not a readable HDF5 file"):
        H5Reader(str(path), "'w.weights.h5'")


def _stored_in_zip(tmp_path, h5_path):
    """A STORED zip holding the HDF5 file, and a window on that member."""
    import zipfile

    from kiln._src.saving.zip_archive import stored_member_window

    archive_path = tmp_path / "w.zip"
    with zipfile.ZipFile(archive_path, "w", zipfile.ZIP_STORED) as archive:
        archive.write(h5_path, "model.weights.h5")
    file = open(archive_path, "rb")
    archive = zipfile.ZipFile(file)
    window = stored_member_window(file, archive, archive.getinfo("model.weights.h5"))
    return file, window


def test_checking_reads_no_data_and_reading_reads_one_dataset(tmp_path):
    path = tmp_path / "w.weights.h5"
    values = [np.full((256, 64), index, "float32") for index in range(8)]
    _write(path, {"a/vars": ("a", values)})
    file, window = _stored_in_zip(tmp_path, path)
    reader = H5Reader(window, "test")
    opened = window.bytes_read
    checked = [reader.check("a/vars", str(i), (256, 64), "float32") for i in range(8)]
    # Every check together reads metadata only: far less than one dataset.
    assert window.bytes_read - opened < values[0].nbytes // 4
    before = window.bytes_read
    read = reader.read_checked(checked[5])
    assert window.bytes_read - before == values[5].nbytes  # exactly its bytes
    np.testing.assert_array_equal(read, values[5])
    reader.close()
    file.close()


@pytest.mark.parametrize("source", ["path", "window", "file_object"])
@pytest.mark.parametrize("chunked", [False, True], ids=["contiguous", "chunked"])
def test_every_way_of_opening_reads_the_same_values(tmp_path, source, chunked):
    import io

    path = tmp_path / "w.weights.h5"
    kernel = np.arange(12, dtype=">f4").reshape(3, 4)  # big-endian on purpose
    half = np.array([1.5, -2.0], dtype=ml_dtypes.bfloat16)
    with h5py.File(path, "w") as h5:
        group = h5.require_group("a/vars")
        group.create_dataset("0", data=kernel, chunks=(1, 4) if chunked else None)
        group.create_dataset("1", data=half.view("V2")).attrs["dtype"] = "bfloat16"
        group.create_dataset("2", shape=(2,), dtype="int32")  # never written
        group.create_dataset("3", shape=(0, 4), dtype="float32")  # no elements
    file = None
    if source == "path":
        reader = H5Reader(str(path), "test")
    elif source == "window":
        file, window = _stored_in_zip(tmp_path, path)
        reader = H5Reader(window, "test")
    else:
        reader = H5Reader(io.BytesIO(path.read_bytes()), "test")
    read = reader.read("a/vars", "0", (3, 4), "float32")
    assert read.dtype == np.dtype(">f4")
    np.testing.assert_array_equal(read, kernel)
    read = reader.read("a/vars", "1", (2,), "bfloat16")
    assert read.dtype == ml_dtypes.bfloat16
    np.testing.assert_array_equal(read.astype("float32"), [1.5, -2.0])
    # Storage never written is refused, not read as the fill value; an empty
    # dataset needs no storage.
    with pytest.raises(InvalidFileError, match="'a/vars/2' declares 8 bytes"):
        reader.read("a/vars", "2", (2,), "int32")
    assert reader.read("a/vars", "3", (0, 4), "float32").shape == (0, 4)
    reader.close()
    if file is not None:
        file.close()


def test_a_missing_dataset_is_named(tmp_path):
    path = tmp_path / "w.weights.h5"
    _raw_file(path, lambda h5: h5.require_group("a/vars").create_dataset("x", data=[1]))
    reader = H5Reader(str(path), "test")
    with pytest.raises(InvalidFileError, match=r"'a/vars/0' is missing.*\['x'\]"):
        reader.check("a/vars", "0", (1,), "int64")
    reader.close()


# -- path resolution: one component at a time, hard links only --


def _dense_file(path, extra=None):
    """layers/dense/vars/{0,1} plus an `other/vars` decoy, then `extra(h5)`."""
    with h5py.File(path, "w") as h5:
        for group in ("layers/dense/vars", "other/vars"):
            h5.require_group(group).create_dataset("0", data=np.ones(2, "f4"))
        if extra is not None:
            extra(h5)


def _relink(path, at, link):
    def extra(h5):
        del h5[at]
        h5[at] = link

    return extra


@pytest.mark.parametrize("at", ["layers", "layers/dense", "layers/dense/vars"])
@pytest.mark.parametrize("kind", ["soft", "external"])
def test_a_non_hard_link_on_the_path_is_refused_by_every_method(tmp_path, at, kind):
    decoy = tmp_path / "decoy.h5"
    _dense_file(decoy)
    target = "/" + at.replace("layers/dense", "other").replace("layers", "other")
    link = (
        h5py.SoftLink(target) if kind == "soft" else h5py.ExternalLink(str(decoy), at)
    )
    path = tmp_path / "w.h5"
    _dense_file(path, _relink(path, at, link))
    name = "SoftLink" if kind == "soft" else "ExternalLink"
    for call in (
        lambda r: r.keys("layers/dense/vars"),
        lambda r: r.has_group("layers/dense/vars"),
        lambda r: r.check("layers/dense/vars", "0", (2,), "float32"),
    ):
        reader = H5Reader(str(path), "test")
        with pytest.raises(InvalidFileError, match=f"group '{at}' is a {name}"):
            call(reader)
        reader.close()


def test_a_dataset_on_the_path_is_refused(tmp_path):
    path = tmp_path / "w.h5"
    _raw_file(path, lambda h5: h5.create_dataset("layers/dense", data=[1.0]))
    reader = H5Reader(str(path), "test")
    assert not reader.has_group("layers/dense")
    with pytest.raises(InvalidFileError, match="'layers/dense' should be a group"):
        reader.keys("layers/dense/vars")
    with pytest.raises(InvalidFileError, match="'layers/dense' should be a group"):
        reader.keys("layers/dense")
    reader.close()


@pytest.mark.parametrize(
    "make_cycle",
    [
        lambda h5: h5["layers/dense"].__setitem__("back", h5["layers"]),
        lambda h5: h5["layers/dense/vars"].__setitem__("up", h5["/"]),
    ],
    ids=["to-parent", "to-root"],
)
def test_hard_link_cycles_are_refused(tmp_path, make_cycle):
    path = tmp_path / "w.h5"
    _dense_file(path, make_cycle)
    reader = H5Reader(str(path), "test")
    with pytest.raises(InvalidFileError, match="hard-linked from 2 places"):
        reader.keys("layers/dense/vars")
    reader.close()


def test_a_dataset_aliased_at_two_expected_paths_is_refused(tmp_path):
    path = tmp_path / "w.h5"
    _dense_file(path, lambda h5: h5["other/vars"].__setitem__("1", h5["other/vars/0"]))
    reader = H5Reader(str(path), "test")
    reader.check("other/vars", "0", (2,), "float32")
    with pytest.raises(InvalidFileError, match="same object"):
        reader.check("other/vars", "1", (2,), "float32")
    reader.close()


# -- element types, layouts, filters, attributes --


@pytest.mark.parametrize(
    "dtype, problem",
    [
        (np.dtype([("a", "f4"), ("b", "f4")]), "compound"),
        (h5py.string_dtype(), "string"),
        (h5py.vlen_dtype("f4"), "variable-length"),
        (np.dtype(("f4", (4,))), "array"),
        (h5py.enum_dtype({"A": 0, "B": 7}, basetype="i1"), "enum"),
        (np.dtype("V4"), "4-byte opaque"),
        (np.dtype("longdouble"), "float128"),
    ],
    ids=["compound", "string", "vlen", "array", "enum", "opaque4", "float128"],
)
def test_non_numeric_element_types_are_refused(tmp_path, dtype, problem):
    if dtype.itemsize == 8 and dtype.kind == "f":  # longdouble is double here
        dtype, problem = np.dtype("V8"), "8-byte opaque"
    path = tmp_path / "w.h5"
    _raw_file(
        path,
        lambda h5: h5.require_group("a/vars").create_dataset(
            "0", shape=(2,), dtype=dtype
        ),
    )
    reader = H5Reader(str(path), "test")
    with pytest.raises(InvalidFileError, match=f"'a/vars/0' has .*{problem}"):
        reader.check("a/vars", "0", (2,), "float32")
    reader.close()


def test_booleans_load(tmp_path):
    path = tmp_path / "w.h5"
    _write(path, {"a/vars": ("a", [np.array([True, False])])})
    reader = H5Reader(str(path), "test")
    np.testing.assert_array_equal(reader.read("a/vars", "0", (2,), "bool"), [1, 0])
    reader.close()


@pytest.mark.parametrize(
    "filters, allowed",
    [
        ({"compression": "gzip"}, False),
        ({"compression": "lzf"}, False),
        ({"scaleoffset": 0}, False),
        ({"shuffle": True, "fletcher32": True}, True),
    ],
    ids=["gzip", "lzf", "scaleoffset", "shuffle-fletcher32"],
)
def test_only_size_preserving_filters_are_allowed(tmp_path, filters, allowed):
    path = tmp_path / "w.h5"
    values = np.arange(8, dtype="i4")
    _raw_file(
        path,
        lambda h5: h5.require_group("a/vars").create_dataset(
            "0", data=values, chunks=(4,), **filters
        ),
    )
    reader = H5Reader(str(path), "test")
    if allowed:
        np.testing.assert_array_equal(reader.read("a/vars", "0", (8,), "int32"), values)
    else:
        with pytest.raises(InvalidFileError, match="'a/vars/0' is stored with the"):
            reader.check("a/vars", "0", (8,), "int32")
    reader.close()


def test_oversized_chunks_are_refused(tmp_path):
    path = tmp_path / "w.h5"
    _raw_file(
        path,
        lambda h5: h5.require_group("a/vars").create_dataset(
            "0", shape=(2,), maxshape=(None,), dtype="f8", chunks=(1 << 20,)
        ),
    )
    reader = H5Reader(str(path), "test")
    with pytest.raises(InvalidFileError, match="declares chunks of 8388608 bytes"):
        reader.check("a/vars", "0", (2,), "float64")
    reader.close()


def test_null_dataspace_is_refused(tmp_path):
    path = tmp_path / "w.h5"
    _raw_file(
        path,
        lambda h5: h5.require_group("a/vars").create_dataset(
            "0", data=h5py.Empty("f4")
        ),
    )
    reader = H5Reader(str(path), "test")
    with pytest.raises(InvalidFileError, match="null"):
        reader.check("a/vars", "0", (), "float32")
    reader.close()


def _bfloat16_file(path, attribute):
    def build(h5):
        dataset = h5.require_group("a/vars").create_dataset(
            "0", data=np.array([1.5, 2.0], ml_dtypes.bfloat16).view("V2")
        )
        if attribute is not None:
            dataset.attrs.create("dtype", attribute[0], dtype=attribute[1])

    # The newest format stores attributes over 64 KiB ("dense" storage).
    with h5py.File(path, "w", libver="latest") as h5:
        build(h5)


@pytest.mark.parametrize(
    "attribute, error",
    [
        (None, "without the dtype='bfloat16' attribute"),
        ((7, "i4"), "should be a single string"),
        ((b"float16", "S7"), "only 'bfloat16' is known"),
        ((b"x" * 70_000, "S70000"), "over the 65536-byte limit"),
        ((b"bfloat16", "S8"), None),
        (("bfloat16", h5py.string_dtype()), None),  # what Keras writes
    ],
    ids=["missing", "integer", "wrong-value", "fixed-bomb", "fixed", "vlen"],
)
def test_the_bfloat16_marker(tmp_path, attribute, error):
    path = tmp_path / "w.h5"
    _bfloat16_file(path, attribute)
    reader = H5Reader(str(path), "test")
    if error is None:
        read = reader.read("a/vars", "0", (2,), "bfloat16")
        np.testing.assert_array_equal(read.astype("f4"), [1.5, 2.0])
    else:
        with pytest.raises(InvalidFileError, match=f"'a/vars/0'.*{error}"):
            reader.check("a/vars", "0", (2,), "bfloat16")
    reader.close()


def test_corrupt_metadata_is_an_invalid_file_error(tmp_path):
    path = tmp_path / "w.h5"
    _write(path, {"layers/dense/vars": ("d", [np.zeros(2, "f4")])})
    data = bytearray(path.read_bytes())
    # Overwrite the root group's symbol-table area after the superblock.
    data[96:400] = b"\xff" * 304
    path.write_bytes(bytes(data))
    try:
        reader = H5Reader(str(path), "test")
    except InvalidFileError:
        return  # refused on open: also an InvalidFileError
    with pytest.raises(InvalidFileError):
        reader.check("layers/dense/vars", "0", (2,), "float32")
    reader.close()


# -- stored bytes: nothing is allocated for bytes the file does not hold --


def _low_level_dataset(h5, name, shape, layout):
    plist = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    plist.set_layout(layout)
    space = h5py.h5s.create_simple(shape)
    h5py.h5d.create(h5.id, name.encode(), h5py.h5t.IEEE_F32LE, space, plist)


@pytest.mark.parametrize(
    "build, message",
    [
        (
            lambda g: g.create_dataset("0", shape=(1000, 1000), dtype="f4"),
            r"declares 4000000 bytes but its storage holds 0",
        ),
        (
            lambda g: g.create_dataset("0", shape=(4,), dtype="f4", fillvalue=7.0),
            r"declares 16 bytes but its storage holds 0",
        ),
        (
            lambda g: g.create_dataset("0", shape=(), dtype="f4"),
            r"declares 4 bytes but its storage holds 0",
        ),
        (
            lambda g: g.create_dataset(
                "0", shape=(1000, 1000), dtype="f4", chunks=(100, 100)
            ),
            r"has 0 of its 100 chunks written",
        ),
        (
            lambda g: g.create_dataset(
                "0", shape=(300, 300), dtype="f4", chunks=(100, 100)
            ).__setitem__((slice(0, 100), slice(0, 100)), 1.0),
            r"has 1 of its 9 chunks written",
        ),
        (
            # 40 KB declared in a file of about 60 KB, in 20 chunks of 4 KB.
            lambda g: g.create_dataset(
                "0", shape=(10, 1000), dtype="f4", chunks=(1, 999)
            ),
            r"needs 20 chunks of 3996 bytes, more than the whole file",
        ),
    ],
    ids=[
        "contiguous-unallocated",
        "fill-value-only",
        "scalar-unallocated",
        "chunked-none-written",
        "chunked-some-missing",
        "chunk-count-over-the-file",
    ],
)
def test_storage_that_does_not_hold_the_declared_bytes_is_refused(
    tmp_path, build, message
):
    path = tmp_path / "w.weights.h5"

    def make(h5):
        build(h5.require_group("a/vars"))
        # Other bytes, so that the file is larger than what the dataset
        # declares and the rules after the file-size rule are the ones seen.
        size = 15_000 if "chunks of" in message else 2_000_000
        h5.require_group("b/vars").create_dataset("0", data=np.ones(size, "f4"))

    _raw_file(path, make)
    reader = H5Reader(str(path), "test")
    with pytest.raises(InvalidFileError, match=message):
        reader.check("a/vars", "0", None, "numeric")
    reader.close()


def test_a_shape_larger_than_the_file_is_refused_before_allocation(tmp_path):
    # 1 GiB declared in a file of a few KB: refused from the file's size
    # alone, whatever the variable's shape.
    path = tmp_path / "w.weights.h5"
    _raw_file(
        path,
        lambda h5: h5.require_group("a/vars").create_dataset(
            "0", shape=(2**14, 2**14), dtype="f4"
        ),
    )
    reader = H5Reader(str(path), "test")
    with pytest.raises(InvalidFileError, match="more than the whole file holds"):
        reader.check("a/vars", "0", (2**14, 2**14), "float32")
    reader.close()


def test_stored_layouts_that_hold_their_bytes_are_read(tmp_path):
    path = tmp_path / "w.weights.h5"
    values = np.arange(30, dtype="f4").reshape(5, 6)

    def build(h5):
        group = h5.require_group("a/vars")
        group.create_dataset("0", data=values)
        # Edge chunks: 2 x 2 chunks of (3, 4), every one written.
        group.create_dataset("1", data=values, chunks=(3, 4))
        group.create_dataset(
            "2", data=values, chunks=(2, 2), shuffle=True, fletcher32=True
        )
        _low_level_dataset(h5, "a/vars/3", (10,), h5py.h5d.COMPACT)
        h5["a/vars/3"][...] = np.arange(10, dtype="f4")
        group.create_dataset("4", shape=(0, 6), dtype="f4")  # no elements
        group.create_dataset("5", shape=(0,), maxshape=(None,), dtype="f4", chunks=(4,))

    _raw_file(path, build)
    reader = H5Reader(str(path), "test")
    for key in ("0", "1", "2"):
        np.testing.assert_array_equal(reader.read("a/vars", key, (5, 6), "f4"), values)
    np.testing.assert_array_equal(reader.read("a/vars", "3", (10,), "f4"), range(10))
    assert reader.read("a/vars", "4", (0, 6), "f4").shape == (0, 6)
    assert reader.read("a/vars", "5", (0,), "f4").shape == (0,)
    reader.close()


def test_a_fifo_path_is_refused_without_blocking(tmp_path):
    import os
    import pathlib
    import subprocess
    import sys

    path = tmp_path / "w.weights.h5"
    os.mkfifo(path)
    code = (
        "from kiln._src.saving.h5_store import H5Reader\n"
        "from kiln._src.saving.errors import InvalidFileError\n"
        "try:\n"
        f"    H5Reader({str(path)!r}, 'test')\n"
        "except InvalidFileError as error:\n"
        "    print('refused:', error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=dict(os.environ, PYTHONPATH=str(pathlib.Path(__file__).parents[3])),
    )
    assert "refused:" in result.stdout and "a FIFO" in result.stdout, result.stderr
