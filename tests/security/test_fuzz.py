"""A bounded run of the `.keras` fuzzer through every entry point: each
mutated file loads (a Model) or raises `InvalidFileError`; the CLI exits with
0 or 1 and prints no traceback; nothing is written, no global config changes;
``kiln verify`` agrees with `load_model` (see `fuzz_keras_files`)."""

from __future__ import annotations

import json
import random

import pytest
from fuzz_keras_files import (
    KINDS,
    Context,
    fuzz,
    make_seeds,
    mutate_graph,
    mutate_resolver,
    resolver_names,
)


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    import zipfile
    from io import BytesIO

    archives = make_seeds(str(tmp_path_factory.mktemp("seeds")))
    configs = {}
    for name, data in archives.items():
        with zipfile.ZipFile(BytesIO(data)) as archive:
            configs[name] = archive.read("config.json")
    return configs


def test_the_resolver_names_cover_the_whole_export_table():
    from kiln._src.api_export import exported_names

    names = resolver_names()
    dotted = {f"{module}.{name}" for module, name in names}
    assert set(exported_names()) <= dotted
    # The functions a gadget would reach for, in every namespace.
    for name in [
        "keras.saving.save_model",
        "keras.saving.load_weights",
        "keras.config.set_epsilon",
        "keras.config.enable_unsafe_deserialization",
        "keras.utils.get_file",
        "keras.ops.add",
        "kiln_sandbox_gadget.run",
        "builtins.exec",
    ]:
        assert name in dotted, name


def test_the_config_mutators_aim_at_the_resolver_and_the_graph(seeds):
    from fuzz_keras_files import _nodes

    context = Context(names=resolver_names(), canary="/nowhere/PWNED")
    rng = random.Random(0)
    namespaces, lambdas, sizes, unchanged = set(), 0, [], 0
    for index in range(300):
        seed = seeds[sorted(seeds)[index % len(seeds)]]
        mutate = mutate_resolver if index % 3 else mutate_graph
        data, what = mutate(rng, seed, context)
        if what == "no-op":
            continue
        unchanged += data == seed  # e.g. two layers shuffled back in order
        document = json.loads(data)  # still JSON: it reaches the checks
        for _, value in _nodes(document):
            if isinstance(value, dict) and value.get("class_name") == "function":
                dotted = f"{value.get('module') or ''}.{value['config']}"
                namespaces.update(
                    space
                    for space in ("saving", "config", "utils", "ops")
                    if f"keras.{space}." in dotted or f"keras.src.{space}." in dotted
                )
        lambdas += b'"Lambda"' in data and b'"Lambda"' not in seed
        sizes.append(len(data))
    # Function envelopes from I/O, config, utility and ops namespaces, new
    # Lambdas, and graphs far larger than any seed.
    assert {"saving", "config", "utils", "ops"} <= namespaces, namespaces
    assert lambdas > 20
    assert unchanged < 10
    assert max(sizes) > 50 * max(len(seed) for seed in seeds.values())


@pytest.mark.slow
def test_fuzzed_files_keep_the_promise_in_every_entry_point(tmp_path):
    report = fuzz(seconds=35, seed=0, out=str(tmp_path / "findings"), timeout_s=20)
    assert report.tried > 50
    # Both sides of the oracle were exercised: some files load, most do not.
    assert report.succeeded.get("model", 0) > 5, report.succeeded
    assert set(report.succeeded) == set(KINDS), report.succeeded
    summary = [
        {key: finding[key] for key in ("kind", "problem", "mutations", "message")}
        for finding in report.findings[:10]
    ]
    assert report.findings == [], (
        f"{len(report.findings)} findings in {report.tried} inputs; first ones:\n"
        f"{json.dumps(summary, indent=1)[:6000]}"
    )
