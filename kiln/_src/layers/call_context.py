"""What the outermost layer call decided (training or not), seen by inner calls,
and the collector of losses added with `add_loss` during a call."""

from __future__ import annotations

import threading
from typing import Any

_state = threading.local()


class CallContext:
    def __init__(self, training: bool | None):
        self.training = training
        self.losses: list[Any] = []
        # Masks of the last model outputs computed in this call (the outermost
        # model finishes last, so its outputs' masks are what remains).
        self.output_masks: Any = None


def get_call_context() -> CallContext | None:
    stack = getattr(_state, "stack", None)
    return stack[-1] if stack else None


class call_context_scope:  # noqa: N801 - used like a function
    def __init__(self, context: CallContext):
        self.context = context

    def __enter__(self) -> CallContext:
        stack = getattr(_state, "stack", None)
        if stack is None:
            stack = _state.stack = []
        stack.append(self.context)
        return self.context

    def __exit__(self, *exc_info: object) -> None:
        _state.stack.pop()


def current_name_path() -> list[str]:
    path = getattr(_state, "names", None)
    if path is None:
        path = _state.names = []
    return path
