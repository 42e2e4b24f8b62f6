"""Public API: `kiln.callbacks` (mirrors `keras.callbacks`)."""

from kiln._src.callbacks.callback import Callback
from kiln._src.callbacks.callback_list import CallbackList
from kiln._src.callbacks.early_stopping import EarlyStopping
from kiln._src.callbacks.history import History
from kiln._src.callbacks.lambda_callback import LambdaCallback
from kiln._src.callbacks.progbar_logger import ProgbarLogger

__all__ = [
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "ProgbarLogger",
]
