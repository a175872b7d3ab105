"""
=====================================================
A shared-bottom network on HAR: which subjects help?
=====================================================

Thirty volunteers wore a smartphone while walking, sitting, lying down...
Each volunteer is a task: the network learns one bottom shared by everyone
and one small head per person, predicting whether a 2.56 s window of sensor
statistics shows the person *sitting*.

After training, :meth:`~skmtl.network.SharedBottomNet.task_relatedness`
estimates, for every pair of subjects, how much removing one subject's data
would change the other's validation loss (row = source, column = target,
positive = the source helps). :meth:`~skmtl.network.SharedBottomNet.influence`
does the same for every single training window.
"""

# %%
# Ten subjects, standardized features, a train/validation split per subject.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skmtl.compose import make_feature_transformer
from skmtl.datasets import load_har
from skmtl.network import SharedBottomNet

X, y = load_har(return_X_y=True)
subject = X[:, -1]
chosen = np.isin(subject, np.unique(subject)[:10])
X, y, subject = X[chosen], y[chosen], subject[chosen]
X_train, X_val, y_train, y_val = train_test_split(
    X, y, test_size=0.3, stratify=subject, random_state=0
)
scaler = make_feature_transformer(StandardScaler()).fit(X_train)  # the task column passes through
X_train, X_val = scaler.transform(X_train), scaler.transform(X_val)

# %%
# Train two small networks (the scores are averaged over them), each
# stopping early on 10% of its training windows (after 3 epochs without
# improvement, ``n_iter_no_change``), and measure influence against the
# validation windows; ``projection_dim`` compresses each row's gradient on
# the shared bottom to 512 random directions, which keeps influence fast and
# small in memory.
net = SharedBottomNet(
    hidden_layer_sizes=(32,),
    max_epochs=100,
    early_stopping=True,
    n_iter_no_change=3,
    batch_size=128,
    learning_rate=3e-3,
    weight_decay=1e-3,
    n_models=2,
    projection_dim=512,
    random_state=0,
    device="cpu",
)
net.fit(X_train, y_train, X_val=X_val, y_val=y_val)
print(f"validation accuracy: {net.score(X_val, y_val):.3f}")

# %%
# Task relatedness: off the diagonal, how removing subject k (row) would
# change subject j's validation loss. The diagonal only measures a subject's
# effect on its own head, so it is hidden.
relatedness = net.task_relatedness_.copy()
np.fill_diagonal(relatedness, np.nan)
helped = np.nanmean(relatedness, axis=0)
print("subject helped most by the others:", net.tasks_[np.argmax(helped)])

# %%
# Row influence: the total over subjects of each training window's effect.
# The most harmful windows are the candidates for data cleaning (this is
# what :class:`skmtl.selection.MTIFSelector` removes with
# ``strategy="influence"``). The 10% of windows held out for early stopping
# get influence 0 (they fall in the tallest bar of the histogram). Sitting windows are
# over-represented among the most harmful ones, compared with their share
# of all training windows.
total = net.influence_.sum(axis=1)
worst = np.argsort(total)[:20]
print(f"share of 'sitting' among the 20 most harmful windows: {y_train[worst].mean():.2f} "
      f"(among all training windows: {y_train.mean():.2f})")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
limit = np.nanmax(np.abs(relatedness))
image = ax1.imshow(relatedness, cmap="RdBu", vmin=-limit, vmax=limit)
ax1.set_xticks(range(len(net.tasks_)), net.tasks_)
ax1.set_yticks(range(len(net.tasks_)), net.tasks_)
ax1.set_xlabel("target subject")
ax1.set_ylabel("source subject (removed)")
ax1.set_title("task relatedness (blue: source helps)")
fig.colorbar(image, ax=ax1, shrink=0.8)
ax2.hist(total, bins=60, color="grey")
ax2.axvline(total[worst].max(), color="crimson", linestyle="--", label="20 most harmful")
ax2.set_yscale("log")
ax2.set_xlabel("total influence of a training window (positive: helps)")
ax2.set_ylabel("windows")
ax2.legend()
plt.show()
