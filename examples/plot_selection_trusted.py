"""
==================================================================
When noisy labels cannot tell: trusting a small clean part
==================================================================

A labeller missed 30 % of the positives: they were recorded as negatives.
Where the features predict the class only weakly, the noisy labels alone
cannot tell this one-sided noise from noise that flips every class alike
(``benchmarks/selection_study.py --study noisy-twins`` builds one data set
that both explain), and the two call for opposite rankings. A small part
with labels you trust settles it: passed to ``MTIFSelector`` as validation
data, its rows join the noise model as rows known to be right, and the
model learns which way the labels went wrong.
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
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", UserWarning)
    trusting = MTIFSelector(MultiTaskLogistic(), random_state=0).fit(
        X, y_noisy, X_val=X_clean, y_val=y_clean
    )
for name, selector in (("noisy labels alone", alone), ("clean part trusted", trusting)):
    noise = selector.label_noise_
    print(f"{name}: {noise.noise_kind} noise, T = {np.round(noise.transition, 2).tolist()}")

# %%
# Finding the corrupted rows is not yet removing them
# ---------------------------------------------------
# How many rows to remove is a separate question. The trusted rows trained
# the noise model, so a score on them would flatter any removal:
# ``removal_ratio="auto"`` ranks the rows again without each of 5 folds of
# the clean part, scores every share of each ranking on the fold it did not
# trust, and removes rows only where the best share beats keeping every row
# by two standard errors. Here it does not, and says so: a removal is a
# bet, and on a clean part of this size the evidence is within noise. Pass
# a number as ``removal_ratio`` to remove rows anyway, or gather more clean
# rows (``benchmarks/selection_study.py --study noisy-validation`` measures
# the rule; the user guide reports it over 77 classification settings).
print(f"removed {len(y) - len(trusting.sample_indices_)} rows:",
      *(str(w.message) for w in caught))

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
