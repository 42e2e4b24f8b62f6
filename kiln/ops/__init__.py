"""`kiln.ops`: the math used inside layers (NumPy-like, nn and core ops)."""

from kiln._src.ops.core import *  # noqa: F403
from kiln._src.ops.core import __all__ as _core_all
from kiln._src.ops.nn import *  # noqa: F403
from kiln._src.ops.nn import __all__ as _nn_all
from kiln._src.ops.numpy import *  # noqa: F403
from kiln._src.ops.numpy import __all__ as _numpy_all

__all__ = sorted(set(_core_all) | set(_nn_all) | set(_numpy_all))
