"""
=========================================
Which tasks help which? A relatedness map
=========================================

In multitask learning some tasks help each other and some hurt: training a
task next to an unrelated one can make it worse (*negative transfer*). The
task relatedness of skmtl answers, for every pair, how the target task's
validation loss would change if the source task were left out of training.

We use the synthetic setting of the MTIF paper: every task is a linear
regression whose coefficients are a common vector plus a small perturbation,
except for a fraction of *unrelated* tasks whose coefficients point
elsewhere. We know which tasks are unrelated, so we can check that the map
shows them.
"""

# %%
# Eight tasks, two of them unrelated
# ----------------------------------
# The task label is the last column of ``X``. We hold out a quarter of each
# task's rows to measure the losses on.
import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import spearmanr

from skmtl import MultiTaskRidge
from skmtl.datasets import make_multitask_regression
from skmtl.inspection import loto_effects
from skmtl.model_selection import task_train_test_split
from skmtl.plotting import TaskRelatednessDisplay

X, y, coef, unrelated = make_multitask_regression(
    n_tasks=8, n_samples=60, n_features=6, epsilon=0.25, coef=True, random_state=3
)
X_train, X_val, y_train, y_val = task_train_test_split(X, y, test_size=0.25, random_state=0)
print("unrelated tasks:", np.flatnonzero(unrelated))

# %%
# Fit and read the relatedness
# ----------------------------
# ``task_relatedness_[k, j]`` is the change of task ``j``'s validation loss
# when task ``k`` is removed: row = source, column = target, **positive =
# task k helps task j**. For ridge, ``method="exact"`` gives the exact refit
# effect in closed form; the default first-order estimate (``"mtif"``) is
# what every skmtl model offers.
model = MultiTaskRidge(alpha=1.0).fit(X_train, y_train, X_val=X_val, y_val=y_val)
mtif = model.task_relatedness_
exact = model.task_relatedness(X_val, y_val, method="exact")

# %%
# Brute force: refit once without each task
# -----------------------------------------
# :func:`~skmtl.inspection.loto_effects` is the ground truth the estimates are
# judged against: it refits the model once per left-out task.
loto = loto_effects(MultiTaskRidge(alpha=1.0), X_train, y_train, X_val, y_val)
print("exact == refit:", np.allclose(exact, loto))
off = ~np.eye(len(model.tasks_), dtype=bool)
rho = [spearmanr(mtif[off[:, j], j], loto[off[:, j], j]).statistic for j in range(8)]
print(f"first order vs refit, Spearman per target task (off-diagonal): mean {np.mean(rho):.2f}")

# %%
# The map
# -------
# A diverging colour map centred on zero: blue cells are positive transfer,
# red cells negative transfer. Ordering the tasks by group (here: the related
# tasks, then the unrelated ones) puts the two unrelated tasks in the last
# rows and columns, where the red cells concentrate: training next to them
# hurts the other tasks, the other tasks hurt them in turn (red in their
# columns), and they hurt each other. The
# first-order diagonal only measures the path through the shared coefficients
# (a removed task is predicted with them), so compare the estimate off the
# diagonal; the refit diagonal shows how much each task needs its own data.
fig, axes = plt.subplots(1, 2, figsize=(12, 5), layout="constrained")
groups = unrelated.astype(int)
TaskRelatednessDisplay.from_matrix(mtif, task_labels=model.tasks_, groups=groups, ax=axes[0])
axes[0].set_title("MTIF estimate (first order)")
TaskRelatednessDisplay.from_matrix(loto, task_labels=model.tasks_, groups=groups, ax=axes[1])
axes[1].set_title("refit without each task (brute force)")
plt.show()
