"""Converting between the task-column layout and per-task arrays; reading targets."""

from ._targets import infer_target_kind
from ._tasks import split_tasks, stack_tasks

__all__ = ["stack_tasks", "split_tasks", "infer_target_kind"]
