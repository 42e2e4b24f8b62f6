"""Tests of `kiln.layers.Masking` (kiln/_src/layers/core/masking.py)."""

import numpy as np

import kiln
from kiln._src.testing.layer_harness import check_layer


def test_masking_matches_keras(tmp_path):
    check_layer(
        tmp_path,
        lambda k: k.layers.Masking(mask_value=0.5),
        (4, 2),
        exchange_files=False,
    )


def test_masking_zeroes_padding_and_computes_the_mask():
    layer = kiln.layers.Masking(mask_value=-1.0)
    x = np.array([[[1.0, 2.0], [-1.0, -1.0], [-1.0, 3.0]]], "float32")
    np.testing.assert_array_equal(
        np.asarray(layer(x)), [[[1.0, 2.0], [0.0, 0.0], [-1.0, 3.0]]]
    )
    np.testing.assert_array_equal(
        np.asarray(layer.compute_mask(x)), [[True, False, True]]
    )
    assert layer.compute_output_shape((None, 3, 2)) == (None, 3, 2)
    assert layer.get_build_config() is None
    assert layer.get_config()["mask_value"] == -1.0
    symbolic = layer(kiln.Input((3, 2)))
    assert symbolic._keras_mask.shape == (None, 3)
    assert symbolic._keras_mask.dtype == "bool"
