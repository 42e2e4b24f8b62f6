"""Learning rate schedules: callables of the optimizer step."""
