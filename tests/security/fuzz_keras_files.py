"""A structure-aware fuzzer for kiln's loaders on `.keras` files.

Seeds are small models saved by kiln (Sequential; Functional with a shared
layer and a nested model; a Functional with a Lambda; an RNN; compiled and
trained, with optimizer state). Each input is one seed with one to three
mutations:

- zip, JSON and HDF5 structure (the JSON and HDF5 ones re-wrapped in a valid
  zip with the right CRCs, so they reach the parsers behind the container
  checks);
- the resolver: ``class_name``/``module``/``registered_name`` and function
  names drawn from kiln's whole export table (`api_export.exported_names()`
  and every public name of ``kiln.saving``, ``kiln.config``, ``kiln.utils``,
  ``kiln.ops``, ...), plus modules a gadget would use; ``class_name:
  "function"`` envelopes placed into any field that holds an envelope or a
  string; Lambda layers (new or existing) whose function, arguments and
  inbound-node constants are chosen by the file (paths aim at the sandbox's
  canary);
- graph sizes: many layers, deep nesting, layers listed backwards, long node
  lists, long chains; sizes that set work (shapes, units, sequence lengths,
  with RNNs unrolled).

Every input goes through `load_model`, ``kiln verify`` and ``kiln verify
--build``, its config through `model_from_json`, and a sample through ``kiln
inspect``, `open_weights` and `load_weights`; one in five is also saved as a
``zipped=False`` directory for `load_model` and ``kiln verify``. Each runs in
a sandboxed child (`sandbox.py`). The oracle, per entry
point: it returns the right type (a Model) or raises `InvalidFileError` (or a
subclass); a CLI command exits with 0 or 1 and prints no traceback (and no
"internal error"); nothing is created, deleted or modified, no global config
changes, no file outside the input is opened, and the run stays under the
memory and time limits. Across entry points: ``kiln verify`` (and ``kiln
verify --build``) passes exactly when `load_model` succeeds.

Each finding's input is saved under the findings directory, next to a JSON
description (mutations, entry point, problem, message, traceback).

Usage:
    python tests/security/fuzz_keras_files.py --seconds 600 --seed 0 \\
        --out /tmp/fuzz-findings
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import random
import shutil
import struct
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sandbox import Job, LoadResult, Sandbox  # noqa: E402
from security_zip_forge import build_archive  # noqa: E402

Members = list[tuple[str, bytes]]
Mutator = Callable[[random.Random, bytes], tuple[bytes, str]]


# -- seeds --


def make_seeds(directory: str) -> dict[str, bytes]:
    """Saves the seed models with kiln; returns name -> archive bytes."""
    import numpy as np

    import kiln

    models = {}
    models["sequential"] = kiln.Sequential(
        [kiln.Input((4,)), kiln.layers.Dense(3), kiln.layers.Dense(2)]
    )
    a, b = kiln.Input((4,), name="a"), kiln.Input((4,), name="b")
    shared = kiln.layers.Dense(4, name="shared")
    inner = kiln.Sequential([kiln.Input((4,)), kiln.layers.Dense(4)], name="inner")
    merged = kiln.layers.Add()([shared(a), shared(b)])
    outputs = kiln.layers.Dense(2, name="head")(inner(merged))
    models["functional"] = kiln.Model([a, b], outputs)
    x_in = kiln.Input((4,), name="x")
    hidden = kiln.layers.Dense(3, name="d1")(x_in)
    lam = kiln.layers.Lambda(
        kiln.activations.relu, arguments={"max_value": 6.0}, name="lam"
    )(hidden)
    models["lambda"] = kiln.Model(x_in, lam)
    models["rnn"] = kiln.Sequential(
        [kiln.Input((5, 3)), kiln.layers.SimpleRNN(2, name="rnn")]
    )
    trained = kiln.Sequential([kiln.Input((4,)), kiln.layers.Dense(2)])
    trained.compile(optimizer="adam", loss="mse", metrics=["mae"])
    x = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    trained.fit(x, x[:, :2], epochs=1, batch_size=4, verbose=0)
    models["trained"] = trained
    seeds = {}
    for name, model in models.items():
        path = os.path.join(directory, f"{name}.keras")
        model.save(path)
        with open(path, "rb") as f:
            seeds[name] = f.read()
    return seeds


def _members(archive: bytes) -> Members:
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        return [(info.filename, z.read(info)) for info in z.infolist()]


# -- JSON mutations --

_REPLACEMENTS: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1,
    2**31,
    2**62,
    -(2**62),
    1e308,
    -0.5,
    "",
    "x",
    "float64",
    "../../etc/passwd",
    [],
    [None],
    [1, 2, 3],
    {},
    {"class_name": "Dense", "config": {}},
    {"class_name": "__numpy__", "config": {"value": [1], "dtype": "float32"}},
]
_CLASS_NAMES = [
    "Dense",
    "Functional",
    "Sequential",
    "InputLayer",
    "Add",
    "Adam",
    "GlorotUniform",
    "Zeros",
    "DTypePolicy",
    "__keras_tensor__",
    "__numpy__",
    "__lambda__",
    "function",
    "Nope",
    "",
]


def _nodes(value: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    """Every (path, value) in a JSON document, the root included."""
    found = [(path, value)]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_nodes(item, path + (key,)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_nodes(item, path + (index,)))
    return found


def _set(document: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return document


_NEST = "<<kiln-fuzz-nest>>"


def mutate_json(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """One structural change to a JSON document; returns (bytes, description)."""
    document = json.loads(data)
    nodes = _nodes(document)
    path, value = rng.choice(nodes)
    choice = rng.randrange(8)
    if choice == 0:
        new = rng.choice(_REPLACEMENTS)
        document = _set(document, path, json.loads(json.dumps(new)))
        what = f"replace {path} with {new!r}"
    elif choice == 1:
        containers = [(p, v) for p, v in nodes if isinstance(v, dict) and v]
        if not containers:
            return data, "no-op"
        path, value = rng.choice(containers)
        key = rng.choice(list(value))
        del value[key]
        what = f"delete key {key!r} at {path}"
    elif choice == 2:
        containers = [(p, v) for p, v in nodes if isinstance(v, dict)]
        path, value = rng.choice(containers)
        key = rng.choice(["extra", "name", "dtype", "shared_object_id", "module"])
        value[key] = rng.choice(_REPLACEMENTS)
        what = f"add key {key!r} at {path}"
    elif choice == 3:
        numbers = [
            (p, v)
            for p, v in nodes
            if isinstance(v, int | float) and not isinstance(v, bool)
        ]
        if not numbers:
            return data, "no-op"
        path, _ = rng.choice(numbers)
        new = rng.choice([10**18, -(10**18), 2**63 - 1, 60000, 10**6, -7, 0, 1e300])
        document = _set(document, path, new)
        what = f"number at {path} -> {new!r}"
    elif choice == 4:
        depth = rng.choice([50, 99, 101, 500, 5000])
        document = _set(document, path, _NEST)
        text = json.dumps(document).replace(
            json.dumps(_NEST), "[" * depth + "1" + "]" * depth, 1
        )
        return text.encode(), f"json: nest {depth} deep at {path}"
    elif choice == 5:
        named = [(p, v) for p, v in nodes if p and p[-1] == "class_name"]
        if not named:
            return data, "no-op"
        path, _ = rng.choice(named)
        new = rng.choice(_CLASS_NAMES)
        document = _set(document, path, new)
        what = f"class_name at {path} -> {new!r}"
    elif choice == 6:
        histories = [
            (p, v)
            for p, v in nodes
            if p and p[-1] == "keras_history" and isinstance(v, list) and len(v) == 3
        ]
        if not histories:
            return data, "no-op"
        path, history = rng.choice(histories)
        slot = rng.randrange(3)
        history[slot] = rng.choice([-1, 1, 2, 99, "missing", None, "a"])
        what = f"keras_history {path}[{slot}] -> {history[slot]!r}"
    else:
        strings = [(p, v) for p, v in nodes if isinstance(v, str)]
        if not strings:
            return data, "no-op"
        path, _ = rng.choice(strings)
        new = rng.choice(
            ["", "a/b", "x" * 300, "\u00e9", "float16", "int8", "None", "object"]
            + ["V8", "U100000000", "S1000000000", "bfloat16", "complex128", "str"]
        )
        document = _set(document, path, new)
        what = f"string at {path} -> {new!r}"
    return json.dumps(document).encode(), "json: " + what


# -- resolver mutations (config.json, targeting name resolution) --

# Modules a gadget would name, beyond kiln's own public ones.
_GADGET_MODULES = [
    "builtins",
    "os",
    "subprocess",
    "numpy",
    "jax.numpy",
    "kiln",
    "kiln.saving",
    "kiln._src.saving.saving_api",
    "kiln._src.saving.saving_lib",
    "kiln_sandbox_gadget",  # sandbox.GADGET_MODULE: importing it is a breach
    "",
    None,
]
_GADGET_NAMES = ["system", "exec", "eval", "open", "run", "Evil", "__import__"]
# Keras's own names that a file written against Keras might reach for (kiln
# may not have them; a file can name them anyway).
_KERAS_GADGETS = [
    ("keras.config", "enable_unsafe_deserialization"),
    ("keras.config", "disable_interactive_logging"),
    ("keras.config", "set_dtype_policy"),
    ("keras.utils", "get_file"),
    ("keras.utils", "plot_model"),
    ("keras.utils", "save_img"),
    ("keras.models", "save_model"),
    ("keras.saving", "save_weights"),
    ("keras.backend", "clear_session"),
    ("keras.src.utils.file_utils", "copy"),
    ("keras.src.saving.saving_lib", "save_model"),
    # kiln's own internals and the standard library's file functions.
    ("kiln._src.saving.saving_lib", "save_model_to_archive"),
    ("kiln._src.saving.file_io", "atomic_write"),
    ("kiln._src.saving.file_io", "remove_stale_temporaries"),
    ("kiln._src.utils.naming", "reset_names"),
    ("shutil", "rmtree"),
    ("shutil", "copyfile"),
    ("os", "remove"),
    ("pathlib", "Path"),
    ("io", "open"),
    ("functools", "partial"),
    ("operator", "attrgetter"),
]


def resolver_names() -> list[tuple[str | None, str]]:
    """(module, name) pairs for every object kiln exports: the whole export
    table (every kiln module imported first, so that it is complete) and every
    public attribute of kiln's namespaces, plus gadget modules and names."""
    import importlib
    import pkgutil

    import kiln
    import kiln._src
    from kiln._src.api_export import exported_names

    for info in pkgutil.walk_packages(kiln._src.__path__, "kiln._src."):
        if info.name.endswith("_test"):
            continue
        try:
            importlib.import_module(info.name)
        except Exception:  # noqa: BLE001, S112 - an optional dependency
            continue
    names: set[tuple[str | None, str]] = set()
    for full in exported_names():
        module, _, name = full.rpartition(".")
        names.add((module, name))
    # Every public namespace of kiln (as `kiln/__init__.py` lists them), and
    # Keras's `dtype_policies`, which kiln does not have yet: a file may try
    # to name any of their attributes.
    for namespace in sorted({*kiln._SUBMODULES, "dtype_policies"}):
        holder = getattr(kiln, namespace, None)
        for name in dir(holder) if holder is not None else []:
            if not name.startswith("_"):
                names.add((f"keras.{namespace}", name))
    for module in _GADGET_MODULES:
        for name in _GADGET_NAMES:
            names.add((module, name))
    names.update(_KERAS_GADGETS)
    return sorted(names, key=lambda pair: (pair[0] or "", pair[1]))


_RISKY = (
    "keras.saving",
    "keras.config",
    "keras.utils",
    "keras.ops",
    "keras.src.ops",
    "keras.random",
    "keras.models",
    "keras.callbacks",
    "keras.backend",
    "keras.src.utils",
    "keras.src.saving",
)


@dataclasses.dataclass
class Context:
    """What the config mutators draw from: the resolver's names, and the
    canary path that file-chosen arguments aim at."""

    names: list[tuple[str | None, str]]
    canary: str = "/tmp/kiln-fuzz-canary"
    scale: int = 1  # multiplies the graph mutations' sizes (``--scale``)

    def name(self, rng: random.Random) -> tuple[str | None, str]:
        # Half the draws from the riskiest namespaces (I/O, config, utils,
        # ops, gadget modules), each namespace as likely as any other.
        risky: dict[str | None, list[tuple[str | None, str]]] = {}
        for pair in self.names:
            module = pair[0]
            if module in _GADGET_MODULES or (module or "").startswith(_RISKY):
                risky.setdefault(module, []).append(pair)
        if risky and rng.random() < 0.5:
            modules = sorted(risky, key=lambda module: module or "")
            return rng.choice(risky[rng.choice(modules)])
        return rng.choice(self.names)

    def constant(self, rng: random.Random) -> Any:
        return rng.choice(
            [
                0.5,
                -1,
                0,
                2**31,
                True,
                None,
                "float16",
                "channels_first",
                "x",
                self.canary,
                os.path.dirname(self.canary),
                "file://" + self.canary,
                f"touch {self.canary}",
                f"open({self.canary!r}, 'w').close()",
                [1, 2, 3],
                {"a": 1},
                {"class_name": "__numpy__", "config": {"value": [1.0], "dtype": "f4"}},
            ]
        )

    def arguments(self, rng: random.Random) -> dict[str, Any]:
        keys = ["inputs", "x", "filepath", "fname", "origin", "cache_dir", "value"]
        keys += ["cache_subdir", "model", "seed", "dtype", "shape", "path"]
        return {key: self.constant(rng) for key in rng.sample(keys, rng.randrange(4))}

    def function_envelope(self, rng: random.Random) -> dict[str, Any]:
        module, name = self.name(rng)
        form = rng.randrange(4)
        if form == 0:  # as Keras writes a function
            envelope = {"module": module, "class_name": "function", "config": name}
        elif form == 1:  # the full dotted name, no module
            dotted = f"{module}.{name}" if module else name
            envelope = {"module": None, "class_name": "function", "config": dotted}
        elif form == 2:  # no module key at all
            envelope = {"class_name": "function", "config": name}
        else:  # a registered name pointing elsewhere
            envelope = {"module": "builtins", "class_name": "function", "config": name}
        envelope["registered_name"] = rng.choice(
            [None, "function", name, f"{module}>{name}", f"Custom>{name}"]
        )
        return envelope


def _envelopes(nodes: list[tuple[tuple, Any]]) -> list[tuple[tuple, dict]]:
    return [
        (path, value)
        for path, value in nodes
        if isinstance(value, dict)
        and isinstance(value.get("class_name"), str)
        and "config" in value
    ]


def _models(document: Any) -> list[dict[str, Any]]:
    """The config dicts (holding a "layers" list) of every model envelope."""
    return [
        value["config"]
        for _, value in _envelopes(_nodes(document))
        if isinstance(value["config"], dict)
        and isinstance(value["config"].get("layers"), list)
    ]


def _is_functional(model_config: dict[str, Any]) -> bool:
    return "input_layers" in model_config or "output_layers" in model_config


def _layer_names(model_config: dict[str, Any]) -> list[str]:
    names = []
    for layer in model_config["layers"]:
        if isinstance(layer, dict):
            name = layer.get("name", (layer.get("config") or {}).get("name"))
            if isinstance(name, str):
                names.append(name)
    return names


def _tensor(history: str, shape: list[Any] | None = None) -> dict[str, Any]:
    return {
        "class_name": "__keras_tensor__",
        "config": {
            "shape": shape or [None, 4],
            "dtype": "float32",
            "keras_history": [history, 0, 0],
        },
    }


def _lambda(
    rng: random.Random, context: Context, name: str, function: Any
) -> dict[str, Any]:
    return {
        "module": "keras.layers",
        "class_name": "Lambda",
        "config": {
            "name": name,
            "trainable": True,
            "dtype": "float32",
            "function": function,
            "arguments": context.arguments(rng),
        },
        "registered_name": None,
        "name": name,
    }


def _node(rng: random.Random, context: Context, sources: list[str]) -> dict:
    """An inbound node: constants only, or a tensor plus constants."""
    args: list[Any] = []
    if sources and rng.random() < 0.6:
        args.append(_tensor(rng.choice(sources)))
    args += [context.constant(rng) for _ in range(rng.randrange(3))]
    return {"args": args, "kwargs": context.arguments(rng)}


def mutate_resolver(
    rng: random.Random, data: bytes, context: Context
) -> tuple[bytes, str]:
    """One change aimed at name resolution; returns (bytes, description)."""
    document = json.loads(data)
    nodes = _nodes(document)
    choice = rng.randrange(5)
    if choice == 0:
        # An envelope's identity: class_name / module / registered_name.
        envelopes = [
            (p, v) for p, v in _envelopes(nodes) if not v["class_name"].startswith("__")
        ]
        path, envelope = rng.choice(envelopes)
        module, name = context.name(rng)
        form = rng.randrange(3)
        if form == 0:
            envelope.update(class_name=name, module=module)
        elif form == 1:
            envelope["class_name"] = f"{module}.{name}" if module else name
            envelope["module"] = None
        else:
            envelope["registered_name"] = rng.choice(
                [f"{module}>{name}", name, f"Custom>{name}"]
            )
        if rng.random() < 0.5:
            envelope["registered_name"] = rng.choice([None, name, f"{module}>{name}"])
        what = f"envelope at {path} -> {module}.{name} (form {form})"
    elif choice == 1:
        # A function envelope into a field holding an envelope or a string.
        fields = [
            (p, v)
            for p, v in nodes
            if p and (isinstance(v, str) or (isinstance(v, dict) and "class_name" in v))
        ]
        path, _ = rng.choice(fields)
        envelope = context.function_envelope(rng)
        document = _set(document, path, envelope)
        what = f"function envelope {envelope} at {path}"
    elif choice in (2, 3):
        # A new Lambda layer whose function, arguments and node constants the
        # file chooses; connected to the outputs or dangling.
        models = _models(document)
        if not models:
            return data, "no-op"
        model = rng.choice(models)
        function = context.function_envelope(rng)
        name = f"fuzz_lambda_{rng.randrange(10**6)}"
        layer = _lambda(rng, context, name, function)
        sources = _layer_names(model)
        if _is_functional(model):
            layer["inbound_nodes"] = [
                _node(rng, context, sources) for _ in range(rng.choice([1, 1, 2, 30]))
            ]
            model["layers"].append(layer)
            if rng.random() < 0.5:
                model["output_layers"] = [name, 0, 0]
            what = f"functional Lambda {function} nodes {layer['inbound_nodes'][:2]}"
        else:
            model["layers"].insert(rng.randrange(1, len(model["layers"]) + 1), layer)
            what = f"sequential Lambda {function} arguments {layer['config']}"
    else:
        # An existing Lambda's function, arguments or inbound-node constants.
        lambdas = [
            v
            for _, v in _envelopes(nodes)
            if v["class_name"] == "Lambda" and isinstance(v["config"], dict)
        ]
        if not lambdas:
            return data, "no-op"
        layer = rng.choice(lambdas)
        part = rng.randrange(3)
        if part == 0:
            layer["config"]["function"] = context.function_envelope(rng)
        elif part == 1:
            layer["config"]["arguments"] = context.arguments(rng)
        else:
            layer["inbound_nodes"] = [_node(rng, context, ["d1", "x", "lam"])]
        layer["config"].setdefault("function", context.function_envelope(rng))
        what = f"Lambda {part}: {json.dumps(layer)[:300]}"
    return json.dumps(document).encode(), "resolver: " + what


# -- graph-size mutations (config.json, targeting replay time) --


def _activation(name: str) -> dict[str, Any]:
    return {
        "module": "keras.layers",
        "class_name": "Activation",
        "config": {
            "name": name,
            "trainable": True,
            "dtype": "float32",
            "activation": "linear",
        },
        "registered_name": None,
        "name": name,
    }


_WORK_KEYS = {
    "batch_shape",
    "input_shape",
    "shape",
    "units",
    "filters",
    "kernel_size",
    "input_dim",
    "output_dim",
    "pool_size",
    "strides",
    "size",
    "n",
    "num_heads",
    "key_dim",
}
_RNNS = {"SimpleRNN", "LSTM", "GRU", "RNN", "SimpleRNNCell", "LSTMCell", "GRUCell"}


def mutate_graph(
    rng: random.Random, data: bytes, context: Context
) -> tuple[bytes, str]:
    """Changes a model's graph size or shape; returns (bytes, description)."""
    document = json.loads(data)
    models = _models(document)
    if not models:
        return data, "no-op"
    model = rng.choice(models)
    layers = model["layers"]
    sources = _layer_names(model)
    functional = _is_functional(model)
    choice = rng.randrange(6)
    count = rng.choice([10, 300, 2000]) * context.scale
    if choice == 0:
        # Many layers: dangling copies (Functional) or a chain (Sequential).
        for index in range(count):
            layer = _activation(f"fuzz_many_{index}")
            if functional and sources:
                layer["inbound_nodes"] = [
                    {"args": [_tensor(rng.choice(sources))], "kwargs": {}}
                ]
            layers.append(layer)
        what = f"{count} more layers ({'dangling' if functional else 'chained'})"
    elif choice == 1:
        # Layers listed backwards (or shuffled).
        if rng.random() < 0.5:
            layers.reverse()
            what = "layers listed backwards"
        else:
            rng.shuffle(layers)
            what = "layers shuffled"
    elif choice == 2:
        # The whole model nested inside Sequentials.
        depth = rng.choice([2, 20, 200]) * context.scale
        for level in range(depth):
            document = {
                "module": "keras",
                "class_name": "Sequential",
                "config": {"name": f"fuzz_nest_{level}", "layers": [document]},
                "registered_name": None,
            }
        what = f"model nested {depth} Sequentials deep"
    elif choice == 3:
        # A long node list: one layer called again and again.
        called = [
            layer
            for layer in layers
            if isinstance(layer, dict) and isinstance(layer.get("inbound_nodes"), list)
        ]
        if not called or not called[0]["inbound_nodes"]:
            return data, "no-op"
        layer = rng.choice(called)
        if not layer["inbound_nodes"]:
            return data, "no-op"
        count = rng.choice([10, 1000, 20000]) * context.scale
        layer["inbound_nodes"] = layer["inbound_nodes"] * count
        what = f"{layer.get('name')!r} called {count} times"
    elif choice == 5:
        # A size that sets work (a shape, a unit count, a sequence length),
        # with RNNs unrolled: bounded before the work, or refused.
        sized = [
            (path, value)
            for path, value in _nodes(document)
            if any(key in _WORK_KEYS for key in path if isinstance(key, str))
            and isinstance(value, int)
            and not isinstance(value, bool)
        ]
        if not sized:
            return data, "no-op"
        path, _ = rng.choice(sized)
        new = rng.choice([10**4, 10**5, 10**6, 2**31 - 1]) * context.scale
        document = _set(document, path, new)
        unrolled = 0
        for _, envelope in _envelopes(_nodes(document)):
            if envelope["class_name"] in _RNNS and isinstance(envelope["config"], dict):
                envelope["config"]["unroll"] = True
                unrolled += 1
        what = f"size at {path} -> {new} ({unrolled} RNNs unrolled)"
    else:
        # A long chain of layers, each on the previous one's output.
        if not (functional and sources):
            return data, "no-op"
        previous = rng.choice(sources)
        for index in range(count):
            layer = _activation(f"fuzz_chain_{index}")
            layer["inbound_nodes"] = [{"args": [_tensor(previous)], "kwargs": {}}]
            layers.append(layer)
            previous = layer["name"]
        if rng.random() < 0.7:
            model["output_layers"] = [previous, 0, 0]
        what = f"a chain of {count} layers from {sources[0]!r}"
    return json.dumps(document).encode(), "graph: " + what


# -- zip mutations (on the raw archive) --


def _signatures(data: bytes, signature: bytes) -> list[int]:
    found, start = [], 0
    while (index := data.find(signature, start)) >= 0:
        found.append(index)
        start = index + 1
    return found


def mutate_zip(rng: random.Random, archive: bytes) -> tuple[bytes, str]:
    members = _members(archive)
    choice = rng.randrange(8)
    if choice == 0:
        cut = rng.randrange(len(archive))
        return archive[:cut], f"zip: truncate at {cut}/{len(archive)}"
    if choice == 1:
        headers = _signatures(archive, b"PK\x01\x02") + _signatures(
            archive, b"PK\x03\x04"
        )
        headers += _signatures(archive, b"PK\x05\x06")
        at = rng.choice(headers) + rng.randrange(4, 46)
        at = min(at, len(archive) - 1)
        patched = bytearray(archive)
        patched[at] ^= 1 << rng.randrange(8)
        return bytes(patched), f"zip: flip a bit of header byte {at}"
    if choice == 2:
        name, data = rng.choice(members)
        return build_archive(members + [(name, data)]), f"zip: duplicate {name}"
    if choice == 3:
        index = rng.randrange(len(members))
        name = members[index][0]
        new = rng.choice(
            ["CONFIG.JSON", "config.json", "x", "assets/a", "model.weights.npz", "../a"]
        )
        members[index] = (new, members[index][1])
        return build_archive(members), f"zip: rename {name} -> {new}"
    if choice == 4:
        index = rng.randrange(len(members))
        name = members.pop(index)[0]
        return build_archive(members), f"zip: drop {name}"
    if choice == 5:
        return build_archive(members, zipfile.ZIP_DEFLATED), "zip: deflate all"
    if choice == 6:
        centrals = _signatures(archive, b"PK\x01\x02")
        at = rng.choice(centrals)
        offset = rng.choice([20, 24, 42])  # compressed, uncompressed, offset
        value = rng.choice([0, 1, 2**31, 2**32 - 1, rng.randrange(2**20)])
        patched = bytearray(archive)
        struct.pack_into("<I", patched, at + offset, value)
        return bytes(patched), f"zip: central field +{offset} of {at} = {value}"
    local = rng.choice(_signatures(archive, b"PK\x03\x04"))
    offset = rng.choice([8, 18, 22, 26])  # method, sizes, name length
    patched = bytearray(archive)
    struct.pack_into("<H", patched, local + offset, rng.randrange(2**16))
    return bytes(patched), f"zip: local field +{offset} of {local}"


# -- HDF5 mutations (weights member, re-zipped) --


def mutate_h5(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    patched = bytearray(data)
    count = rng.choice([1, 1, 2, 4, 16])
    # Headers and B-trees sit near the start; data at the end.
    limit = len(data) if rng.random() < 0.3 else min(len(data), 4096)
    spots = []
    for _ in range(count):
        at = rng.randrange(limit)
        if rng.random() < 0.5:
            patched[at] ^= 1 << rng.randrange(8)
        else:
            patched[at] = rng.choice([0x00, 0xFF, 0x7F, 0x80, rng.randrange(256)])
        spots.append(at)
    return bytes(patched), f"h5: overwrite bytes {sorted(spots)}"


def _rewrap(name: str, mutate: Callable[[random.Random, bytes], tuple]):
    """A mutator that changes member `name` and re-zips with valid CRCs."""

    def apply(rng: random.Random, archive: bytes) -> tuple[bytes, str]:
        current = _members(archive)
        for index, (member, data) in enumerate(current):
            if member == name:
                new, what = mutate(rng, data)
                current[index] = (member, new)
                return build_archive(current), f"{what} [{name}]"
        return archive, "no-op"

    return apply


def mutators(context: Context) -> list[tuple[int, Mutator]]:
    """(weight, mutator) pairs; the config mutators see `context`."""

    def with_context(mutate_config: Callable) -> Callable:
        return lambda rng, data: mutate_config(rng, data, context)

    return [
        (3, _rewrap("config.json", mutate_json)),
        (4, _rewrap("config.json", with_context(mutate_resolver))),
        (2, _rewrap("config.json", with_context(mutate_graph))),
        (1, _rewrap("metadata.json", mutate_json)),
        (2, _rewrap("model.weights.h5", mutate_h5)),
        (2, mutate_zip),
    ]


def mutate(
    rng: random.Random, seed: bytes, context: Context | None = None
) -> tuple[bytes, list[str]]:
    """One to three mutations of `seed`, in random order; the chain stops
    early when an earlier mutation left an archive the next cannot open."""
    table = mutators(context or Context(names=[("keras.layers", "Dense")]))
    data, steps = seed, []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        weights = [weight for weight, _ in table]
        _, mutator = rng.choices(table, weights)[0]
        try:
            data, what = mutator(rng, data)
        except Exception:  # noqa: BLE001 - zipfile/json on an earlier mutant
            break
        steps.append(what)
    return data, steps


# -- the oracle --

# Entry points each input goes through: "model_from_json" when the input's
# config.json is readable; the kinds in `_SAMPLED` for one input in
# `SAMPLE_EVERY` each (in turn), to keep a run's cost down. "weights" loads
# the input's weights into its seed's model (`model.load_weights`).
KINDS = (
    "model",
    "verify",
    "verify_build",
    "model_from_json",
    "inspect",
    "open_weights",
    "weights",
)
SAMPLE_EVERY = 3
_SAMPLED = ("inspect", "open_weights", "weights")
_CLI_KINDS = ("inspect", "verify", "verify_build")
_TRACEBACK = "Traceback (most recent call last)"


def problems(kind: str, result: LoadResult) -> list[str]:
    """What breaks the oracle for one entry point's run (empty: none)."""
    found = []
    if result.status in ("timeout", "crashed"):
        found.append(result.status)
    elif kind in _CLI_KINDS:
        if result.status != "exited" or result.exit_code not in (0, 1):
            found.append(f"did not exit with 0 or 1 ({result.status})")
        elif _TRACEBACK in result.message:
            found.append("printed a traceback")
        elif "internal error" in result.message:
            found.append("reported an internal error")
    elif not (result.loaded or result.invalid_file_error):
        found.append(f"raised {result.exception}")
    found.extend(f"breach: {breach}" for breach in result.breaches())
    return found


def disagreements(results: dict[str, LoadResult]) -> list[tuple[str, str]]:
    """(kind, problem) where ``kiln verify`` (with or without ``--build``, both
    rebuild the model) judges a file apart from `load_model`."""
    found = []
    model = results.get("model")
    if model is None or problems("model", model):
        return found
    for kind in ("verify", "verify_build"):
        result = results.get(kind)
        if result is None or problems(kind, result):
            continue
        if result.loaded != model.loaded:
            found.append(
                (
                    kind,
                    f"{kind} {'passed' if result.loaded else 'failed'} but "
                    f"load_model {'succeeded' if model.loaded else 'raised'}",
                )
            )
    return found


# -- running --


@dataclasses.dataclass
class Report:
    tried: int
    findings: list[dict[str, Any]]
    runs: int = 0  # entry-point runs, all kinds
    # entry point -> runs that succeeded (a load returned, a command exited 0)
    succeeded: dict[str, int] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class _Input:
    path: str
    seed: str
    steps: list[str]
    jobs: list[Job]


def _config_text(data: bytes) -> bytes | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.read("config.json")
    except Exception:  # noqa: BLE001 - a mutated archive
        return None


def fuzz(
    seconds: float,
    seed: int,
    out: str,
    timeout_s: float = 30.0,
    kinds: tuple[str, ...] = KINDS,
    max_findings_per_kind: int = 5,
    slow_s: float | None = None,
    scale: int = 1,
) -> Report:
    """Mutates inputs and runs them through the entry points in `kinds`
    until `seconds` have passed (seeds included); saves each finding (input
    and description) under `out`, at most `max_findings_per_kind` inputs per
    distinct (entry point, problem). A run over `timeout_s` is a finding, and
    so is one over `slow_s` when given."""
    started = time.monotonic()
    rng = random.Random(seed)
    os.makedirs(out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="kiln-fuzz-")
    try:
        seeds = make_seeds(work)
        seed_paths = {name: os.path.join(work, f"{name}.keras") for name in seeds}
        sandbox = Sandbox(os.path.join(work, "sandbox"))
        context = Context(names=resolver_names(), canary=sandbox.canary, scale=scale)
        # Inputs live under the sandbox root, so every file event is seen.
        inputs = os.path.join(sandbox.root, "inputs")
        os.makedirs(inputs)
        tried, runs, findings = 0, 0, []
        seen: dict[str, int] = {}
        succeeded: dict[str, int] = {}
        per_job = 0.1  # seconds; re-estimated after each batch
        while True:
            left = seconds - (time.monotonic() - started)
            # A batch is one child (a few seconds to import JAX) plus its jobs.
            sampled = sum(kind in _SAMPLED for kind in kinds)
            per_input = per_job * (len(kinds) - sampled + sampled / SAMPLE_EVERY)
            size = int(min(150, (left - 6) / per_input))
            if size < 3:
                break
            batch = [
                _make_input(
                    rng, seeds, context, inputs, tried + index, kinds, seed_paths
                )
                for index in range(size)
            ]
            # One input in five is also tried as a zipped=False directory.
            batch += [
                variant
                for item in batch[::5]
                if "model" in kinds and (variant := _directory_input(item))
            ]
            jobs = [job for item in batch for job in item.jobs]
            batch_started = time.monotonic()
            results = sandbox.load_all(jobs, timeout_s)
            elapsed = time.monotonic() - batch_started
            per_job = max(0.01, (elapsed - 4) / len(jobs))
            by_job = iter(results)
            for item in batch:
                outcome = {job.kind: next(by_job) for job in item.jobs}
                for kind, result in outcome.items():
                    succeeded[kind] = succeeded.get(kind, 0) + result.loaded
                for kind, problem in _judge(outcome, slow_s):
                    key = f"{kind}: {problem.split(':')[0][:60]}"
                    seen[key] = seen.get(key, 0) + 1
                    if seen[key] <= max_findings_per_kind:
                        findings.append(
                            _save_finding(out, item, kind, problem, outcome[kind])
                        )
                for job in item.jobs:
                    if os.path.isdir(job.path):
                        shutil.rmtree(job.path)
                    elif os.path.exists(job.path):
                        os.remove(job.path)
            tried += len(batch)
            runs += len(jobs)
        return Report(tried, findings, runs, succeeded)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _make_input(
    rng: random.Random,
    seeds: dict[str, bytes],
    context: Context,
    directory: str,
    number: int,
    kinds: tuple[str, ...],
    seed_paths: dict[str, str],
) -> _Input:
    name = rng.choice(sorted(seeds))
    data, steps = mutate(rng, seeds[name], context)
    path = os.path.join(directory, f"{number:06d}.keras")
    with open(path, "wb") as f:
        f.write(data)
    jobs = []
    for kind in kinds:
        if kind in _SAMPLED and number % SAMPLE_EVERY != _SAMPLED.index(kind):
            continue
        if kind == "model_from_json":
            text = _config_text(data)
            if text is None:
                continue
            json_path = path[: -len(".keras")] + ".json"
            with open(json_path, "wb") as f:
                f.write(text)
            jobs.append(Job(json_path, kind="model_from_json"))
        elif kind == "weights":
            jobs.append(Job(path, kind="weights", model=seed_paths[name]))
        else:
            jobs.append(Job(path, kind=kind))
    return _Input(path, name, steps, jobs)


def _directory_input(item: _Input) -> _Input | None:
    """The same input saved as a ``zipped=False`` directory, when its members
    can be written as plain files (no odd names); load_model and verify."""
    try:
        with open(item.path, "rb") as f, zipfile.ZipFile(f) as archive:
            members = [
                (info.filename, archive.read(info)) for info in archive.infolist()
            ]
    except Exception:  # noqa: BLE001 - a mutated archive
        return None
    names = [name for name, _ in members]
    plain = all(
        name in ("metadata.json", "config.json", "model.weights.h5")
        or (name.startswith("assets/") and ".." not in name.split("/"))
        for name in names
    )
    if not plain or len(set(names)) != len(names):
        return None
    directory = item.path[: -len(".keras")] + "_dir"
    for name, data in members:
        target = os.path.join(directory, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            f.write(data)
    jobs = [Job(directory, kind=kind) for kind in ("model", "verify")]
    return _Input(directory, item.seed, item.steps + ["as a directory"], jobs)


def _judge(
    outcome: dict[str, LoadResult], slow_s: float | None = None
) -> list[tuple[str, str]]:
    found = [
        (kind, problem)
        for kind, result in outcome.items()
        for problem in problems(kind, result)
    ]
    if slow_s is not None:
        # Every load path must be near-linear in the (small) file's size.
        found += [
            (kind, f"slow: {result.elapsed_s:.1f} s")
            for kind, result in outcome.items()
            if result.elapsed_s is not None and result.elapsed_s > slow_s
        ]
    return found + disagreements(outcome)


def _save_finding(
    out: str, item: _Input, kind: str, problem: str, result: LoadResult
) -> dict[str, Any]:
    job = next(job for job in item.jobs if job.kind == kind)
    slug = "".join(c if c.isalnum() else "-" for c in problem.split(":")[0])[:40]
    target = os.path.join(out, f"{kind}-{slug}-{os.path.basename(job.path)}")
    if os.path.isdir(job.path):
        shutil.copytree(job.path, target, symlinks=True)
    else:
        shutil.copyfile(job.path, target)
    finding = {
        "file": target,
        "kind": kind,
        "problem": problem,
        "seed": item.seed,
        "mutations": item.steps,
        "status": result.status,
        "exception": result.exception,
        "exit_code": result.exit_code,
        "elapsed_s": result.elapsed_s,
        "message": result.message[:2000],
        "traceback": result.traceback[-3000:] or result.stderr[-3000:],
    }
    with open(target + ".finding.json", "w") as f:
        json.dump(finding, f, indent=1)
    return finding


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="/tmp/fuzz-findings")
    parser.add_argument("--timeout", type=float, default=30.0, help="per run, s")
    parser.add_argument(
        "--slow", type=float, default=None, help="report runs slower than this, s"
    )
    parser.add_argument(
        "--scale", type=int, default=1, help="multiply graph mutation sizes"
    )
    parser.add_argument(
        "--kinds", default=",".join(KINDS), help="entry points, comma-separated"
    )
    args = parser.parse_args(argv)
    kinds = tuple(kind for kind in args.kinds.split(",") if kind)
    report = fuzz(
        args.seconds,
        args.seed,
        args.out,
        args.timeout,
        kinds,
        slow_s=args.slow,
        scale=args.scale,
    )
    print(f"inputs tried: {report.tried} ({report.runs} entry-point runs)")
    print(f"succeeded, by entry point: {report.succeeded}")
    print(f"findings: {len(report.findings)} (saved under {args.out})")
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for finding in report.findings:
        key = f"{finding['kind']}: {finding['problem'][:80]}"
        by_kind.setdefault(key, []).append(finding)
    for key, group in sorted(by_kind.items(), key=lambda item: -len(item[1])):
        example = group[0]
        print(f"  {len(group):4d} x {key}, e.g. {example['file']}")
        print(f"         mutations: {example['mutations']}"[:400])
        print(f"         message: {(example['message'] or '').strip()[-300:]}")
    return 1 if report.findings else 0


if __name__ == "__main__":
    sys.exit(main())
