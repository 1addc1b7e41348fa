"""Tasks: loss, metrics and predictions for a kind of output."""
from .base import BUILTIN, Task, get_task

__all__ = ["BUILTIN", "Task", "get_task"]
