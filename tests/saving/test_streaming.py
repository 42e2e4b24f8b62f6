"""Weights are streamed: written tensor by tensor into the archive, never
staged whole in memory, and read back in place from the STORED member.

Memory is measured in a fresh process (peak RSS from /proc/self/status,
with the peak reset just before the save), on a ~200 MB model.
"""

import json
import os
import subprocess
import sys
import textwrap
import zipfile

import h5py
import numpy as np
import pytest

from kiln._src.saving.zip_archive import stored_member_window

_CHILD = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import kiln

    def status(key):
        with open("/proc/self/status") as file:
            for line in file:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024

    def reset_peak():
        try:
            with open("/proc/self/clear_refs", "w") as file:
                file.write("5")
            return True
        except OSError:
            return False

    directory = sys.argv[1]
    inputs = kiln.Input((1024,))
    x = inputs
    for _ in range(50):  # 50 x 4 MiB kernels
        x = kiln.layers.Dense(1024, use_bias=False)(x)
    model = kiln.Model(inputs, x)
    for variable in model.weights:
        np.asarray(variable.value)
    size = sum(np.asarray(v.value).nbytes for v in model.weights)
    report = {"size": size}
    for kind, save in (
        ("save", lambda: model.save(directory + "/big.keras")),
        ("save_weights", lambda: model.save_weights(directory + "/big.weights.h5")),
    ):
        reset = reset_peak()
        baseline = status("VmRSS:") if reset else status("VmHWM:")
        save()
        report[kind] = status("VmHWM:") - baseline
    print(json.dumps(report))
    """
)


@pytest.fixture(scope="module")
def big_files(tmp_path_factory):
    directory = tmp_path_factory.mktemp("big")
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(directory)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return directory, report


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["save", "save_weights"])
def test_peak_memory_of_a_save_stays_far_below_the_model_size(big_files, kind):
    _, report = big_files
    assert report["size"] >= 200 * 1024 * 1024
    # Staging the weights (in BytesIO, or a copy of every tensor) would add
    # at least the model's size; streaming adds about one tensor at most.
    assert report[kind] < report["size"] / 8, (
        f"{kind} raised peak RSS by {report[kind] / 2**20:.0f} MiB for a "
        f"{report['size'] / 2**20:.0f} MiB model"
    )


@pytest.mark.slow
def test_weights_member_is_stored_and_read_in_place(big_files):
    directory, report = big_files
    path = os.path.join(directory, "big.keras")
    with open(path, "rb") as file, zipfile.ZipFile(file) as archive:
        info = archive.getinfo("model.weights.h5")
        assert info.compress_type == zipfile.ZIP_STORED
        assert info.file_size == info.compress_size > report["size"]
        window = stored_member_window(file, archive, info)
        with h5py.File(window, "r") as h5:
            kernel = h5["layers/dense_7/vars/0"][()]
        assert kernel.shape == (1024, 1024) and kernel.dtype == np.float32
        # One 4 MiB kernel was read, not the 200 MiB member.
        assert window.bytes_read < kernel.nbytes + 1024 * 1024
    # The member is a plain HDF5 file, equal to the `.weights.h5` file.
    with open(os.path.join(directory, "big.weights.h5"), "rb") as weights:
        with zipfile.ZipFile(path) as archive, archive.open(info) as member:
            while True:
                chunk = weights.read(1 << 22)
                assert member.read(len(chunk)) == chunk
                if not chunk:
                    break
