"""Converting between the task-column layout and per-task arrays."""

from ._tasks import split_tasks, stack_tasks

__all__ = ["stack_tasks", "split_tasks"]
