"""Task relatedness measures from the literature, beside MTIF, and task grouping.

Every measure returns a ``(n_tasks, n_tasks)`` array oriented like
``task_relatedness_``: row = source task, column = target task, larger =
more helpful (``as_frame=True`` labels rows and columns by task).

* :func:`cosine_affinity` -- cosine of the tasks' gradients on the shared
  parameters at the fitted model.
* :func:`tag_affinity` -- TAG inter-task affinity (Fifty et al.), lookahead
  loss ratio averaged over training, exact or first order.
* :func:`surrogate_affinity` -- linear surrogate of subset losses (task
  modeling).
* :func:`higher_order_affinity` -- average target loss over random subsets
  holding the source.
* :func:`gradient_affinity` -- Grad-TAE: the subset affinities from a
  first-order estimate of the subset models, without refits.
* :func:`task_subset_losses` -- the subset losses behind the last three.
* :func:`group_tasks` -- spectral clustering or TAG-style selection of task
  groups from any affinity matrix.
* :func:`select_source_tasks` -- the sources that help each target (task
  modeling's ``theta_s < gamma``), from any affinity matrix.
* :func:`order_tasks` -- an order that puts tasks which help each other side
  by side, for heatmaps.
"""

from ._gradient import cosine_affinity, tag_affinity
from ._grouping import group_tasks, order_tasks, select_source_tasks
from ._subsets import (
    gradient_affinity,
    higher_order_affinity,
    surrogate_affinity,
    task_subset_losses,
)

__all__ = [
    "cosine_affinity",
    "tag_affinity",
    "surrogate_affinity",
    "higher_order_affinity",
    "gradient_affinity",
    "task_subset_losses",
    "group_tasks",
    "select_source_tasks",
    "order_tasks",
]
