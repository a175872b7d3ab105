"""Converting between the task-column layout and per-task arrays; checking inputs."""

from ._targets import infer_target_kind
from ._targets import MAX_CLASS_CODES  # noqa: F401  (public; named in infer_target_kind's docs)
from ._tasks import check_magnitude, split_tasks, stack_tasks

__all__ = ["stack_tasks", "split_tasks", "infer_target_kind", "check_magnitude"]
