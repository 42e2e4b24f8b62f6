"""A walk through the Keras guide "Save, serialize, and export models" with kiln.

Builds a model, trains it with a progress bar, saves it to a `.keras` file,
reloads it, checks that the reloaded model predicts exactly the same, checks
the file with `kiln verify`, reads one weight lazily, then shows the config,
the file's contents (`kiln inspect`) and the summary. Prints each step.

Runs in a temporary directory, removed at the end (also when a step fails).
Pass ``--keep`` to keep it and look at the files written there::

    python examples/guide_walkthrough.py --keep
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import zipfile

import numpy as np

import kiln as keras
from kiln import ops


def step(title: str) -> None:
    print(f"\n=== {title} ===")


@keras.saving.register_keras_serializable(package="Walkthrough")
class Scale(keras.layers.Layer):
    """A custom layer: multiplies its input by a learned per-feature scale."""

    def build(self, input_shape):
        self.scale = self.add_weight(
            name="scale", shape=(input_shape[-1],), initializer="ones"
        )

    def call(self, inputs):
        return ops.multiply(inputs, self.scale)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the temporary directory with the files written",
    )
    args = parser.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="kiln-walkthrough-")
    start = os.getcwd()
    os.chdir(workdir)
    try:
        walk()
    finally:
        os.chdir(start)
        if args.keep:
            print(f"\nfiles kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
            print(f"\nremoved {workdir} (pass --keep to keep the files)")


def walk() -> None:
    """Runs every step, writing its files to the current directory."""
    keras.utils.set_random_seed(42)

    step("Build a Functional model (with a custom layer)")
    inputs = keras.Input(shape=(32,), name="features")
    x = keras.layers.Dense(64, activation="relu")(inputs)
    x = Scale()(x)
    outputs = keras.layers.Dense(1)(keras.layers.Dropout(0.2)(x))
    model = keras.Model(inputs, outputs, name="walkthrough")
    model.compile(
        optimizer=keras.optimizers.Adam(), loss="mean_squared_error", metrics=["mae"]
    )

    step("Train")
    rng = np.random.default_rng(0)
    data = rng.random((512, 32)).astype("float32")
    targets = data @ rng.normal(size=(32, 1)).astype("float32")
    history = model.fit(data, targets, epochs=3, validation_split=0.2)
    print("loss per epoch:", [round(v, 4) for v in history.history["loss"]])

    step("Save to walkthrough.keras")
    model.save("walkthrough.keras")
    with zipfile.ZipFile("walkthrough.keras") as archive:
        for info in archive.infolist():
            print(f"  {info.filename:<20} {info.file_size:>8} bytes")

    step("Reload and verify")
    reloaded = keras.models.load_model("walkthrough.keras")
    np.testing.assert_allclose(
        model.predict(data, verbose=0), reloaded.predict(data, verbose=0)
    )
    print("the reloaded model predicts exactly what the original did")
    for a, b in zip(model.optimizer.variables, reloaded.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    print(f"optimizer state restored ({len(model.optimizer.variables)} variables)")
    reloaded.fit(data, targets, epochs=1, verbose=2)

    step("Weights only: save_weights / load_weights")
    model.save_weights("walkthrough.weights.h5")
    clone = keras.models.clone_model(model)
    clone.load_weights("walkthrough.weights.h5")
    np.testing.assert_allclose(
        model.predict(data[:8], verbose=0), clone.predict(data[:8], verbose=0)
    )
    print("a fresh clone loaded the weights and predicts the same")

    step("Inspect: config")
    config = json.loads(model.to_json())
    print(json.dumps(config["config"]["layers"][1], indent=2)[:800], "...")

    step("Check the file as a stranger's: `kiln verify walkthrough.keras`")
    from kiln._src.cli.main import main as kiln_command

    status = kiln_command(["verify", "walkthrough.keras"])
    if status != 0:
        raise SystemExit("kiln verify found a problem in the file kiln wrote")

    step("Read one weight without loading the model (kiln.saving.open_weights)")
    with keras.saving.open_weights("walkthrough.keras") as weights:
        listed = weights.variables()
        first = weights.read(listed[0].path)
    print(f"{len(listed)} variables listed; read only '{listed[0].path}' {first.shape}")

    step("Inspect: `kiln inspect walkthrough.keras`")
    kiln_command(["inspect", "walkthrough.keras"])

    step("Inspect: summary")
    reloaded.summary()


if __name__ == "__main__":
    main()
