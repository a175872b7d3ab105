"""
==================================================================
When noisy labels cannot tell: trusting a small clean part
==================================================================

A labeller missed 30 % of the positives: they were recorded as negatives.
Where the features predict the class only weakly, the noisy labels alone
cannot tell this one-sided noise from noise that flips every class alike
(``benchmarks/selection_study.py --study noisy-twins`` builds one data set
that both explain), and the two call for opposite rankings. A small part
with labels you trust settles it: passed as validation data to
``MTIFSelector(strategy="label-noise")``, its rows join the noise model as
rows known to be right, and the model learns which way the labels went
wrong.
"""

# %%
# Weak features, positives turned negative
# ----------------------------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import RocCurveDisplay

from skmtl import MultiTaskLogistic
from skmtl.datasets import make_multitask_classification
from skmtl.model_selection import task_train_test_split
from skmtl.selection import MTIFSelector

X, y = make_multitask_classification(n_tasks=4, n_samples=250, n_features=5, random_state=0)
rng = np.random.default_rng(0)
X[:, :-1] += rng.normal(scale=2.5, size=X[:, :-1].shape)  # features that predict weakly
X, X_clean, y, y_clean = task_train_test_split(X, y, test_size=0.2, random_state=0)
corrupted = (y == 1) & (rng.random(len(y)) < 0.3)
y_noisy = np.where(corrupted, 0, y)
print(f"{len(y)} noisy rows ({corrupted.mean():.0%} corrupted), {len(y_clean)} trusted rows")

# %%
# Without clean labels, and with the clean part trusted
# -----------------------------------------------------
# Without clean labels the noise is read as alike for every class; the
# positives, now the rarer label, look suspect, and the corrupted rows (all
# labelled negative) rank as the most trustworthy. With the clean part, the
# estimated transition matrix ``T[true, given]`` shows the positives read as
# negatives, and the ranking turns around.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # it warns that it keeps every row
    alone = MTIFSelector(MultiTaskLogistic(), random_state=0).fit(X, y_noisy)
trusting = MTIFSelector(MultiTaskLogistic(), strategy="label-noise", random_state=0).fit(
    X, y_noisy, X_val=X_clean, y_val=y_clean
)
for name, selector in (("noisy labels alone", alone), ("clean part trusted", trusting)):
    noise = selector.label_noise_
    removed = np.setdiff1d(np.arange(len(y)), selector.sample_indices_)
    print(f"{name}: {noise.noise_kind} noise, T = {np.round(noise.transition, 2).tolist()}; "
          f"removed {len(removed)} rows, {corrupted[removed].mean() if len(removed) else 0:.0%} "
          "of them corrupted")

# %%
# Does the removal help? Ask clean rows that did not choose it
# -------------------------------------------------------------
# The trusted rows trained the noise model and chose how many rows to
# remove, so a score on them flatters the removal. Hold some out: in each of
# 3 task-stratified folds of the clean part, the selector learns from the
# other two, and the model fitted on the rows it keeps is scored on the
# fold it never saw (``skmtl select --trusted`` prints the same check).
# Here the removal scores lower than keeping every row, so keep every row:
# finding the corrupted rows and gaining accuracy by removing them are
# separate questions. On real data with few corrupted rows removals chosen on
# a clean part cost accuracy too (``benchmarks/selection_study.py --study
# noisy-validation``).
from sklearn.base import clone

from skmtl.model_selection import TaskStratifiedKFold

every_row = MultiTaskLogistic().fit(X, y_noisy)
held_out = []
for train, test in TaskStratifiedKFold(3, shuffle=True, random_state=0).split(X_clean, y_clean):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a fold that keeps every row says so
        kept = clone(trusting).fit(X, y_noisy, X_val=X_clean[train],
                                   y_val=y_clean[train]).sample_indices_
    cleaned = MultiTaskLogistic().fit(X[kept], y_noisy[kept])
    held_out.append([model.score(X_clean[test], y_clean[test]) for model in (every_row, cleaned)])
print("held-out accuracy on the clean part, all rows / after the removal: "
      + " / ".join(f"{score:.3f}" for score in np.mean(held_out, axis=0)))

# %%
# How well each finds the corrupted rows
# --------------------------------------
# A low probability that the label is right should mean a corrupted row: the
# ROC curve of ``1 - scores_`` for the corrupted rows (the diagonal is chance).
fig, ax = plt.subplots(figsize=(5, 5))
for name, selector in (("noisy labels alone", alone), ("clean part trusted", trusting)):
    RocCurveDisplay.from_predictions(corrupted, 1 - selector.scores_, name=name, ax=ax)
ax.plot([0, 1], [0, 1], ls=":", color="gray")
ax.set_title("Finding the positives recorded as negatives")
plt.show()
