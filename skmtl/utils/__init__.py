"""Converting between the task-column layout and per-task arrays; checking inputs.

The helpers that read the task column are public so that third-party
estimators and skmtl's own packages share one reading of it.
"""

from .._config import check_result_memory
from ._convert import split_tasks, stack_tasks
from ._layout import TaskLayout, task_groups
from ._magnitude import check_magnitude
from ._targets import infer_target_kind
from ._targets import MAX_CLASS_CODES  # noqa: F401  (public; named in infer_target_kind's docs)
from ._tasks import UNSEEN_TASKS  # noqa: F401  (the phrase of the warning about unseen tasks)
from ._tasks import (
    check_task_X,
    encode_fitted_tasks,
    encode_tasks,
    missing_task_mask,
    normalize_task_labels,
    preview_labels,
    resolve_task_col,
    task_labels,
)

__all__ = [
    "stack_tasks", "split_tasks", "infer_target_kind", "check_magnitude",
    "TaskLayout", "task_groups", "task_labels", "check_task_X", "missing_task_mask",
    "encode_tasks", "encode_fitted_tasks", "normalize_task_labels", "preview_labels",
    "resolve_task_col", "check_result_memory",
]
