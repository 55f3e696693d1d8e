"""Execution queue, worker, event bus (and later the scheduler)."""
