"""`kiln.layers`: the building blocks of models.

Every class or function registered as ``keras.layers.<Name>`` in kiln's export
table is available here under that name (Dense, Conv2D, LSTM, ..., plus
`Input`, `InputSpec`, `serialize` and `deserialize`).
"""

from kiln._src.layers.registry import public_layer_objects as _public_layer_objects

globals().update(_public_layer_objects())
__all__ = sorted(_public_layer_objects())
