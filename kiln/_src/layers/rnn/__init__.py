"""Recurrent layers: cells, the generic `RNN`, and the wrappers around them."""
