"""One noisy data set, two truths: what no selector can tell from the noisy data.

Run by ``python benchmarks/selection_study.py --study noisy-twins``. For each
data set and seed, the training features of a real data set and a
task-stratified 75/25 split; ``c(x)``, the probability of class 1 of
``MultiTaskLogistic()`` fitted on the clean training labels, plays the clean
classes. The noisy labels are drawn once, from

    p(x) = (1 - 2r) c(x) + r,   r = 0.2,

and two truths lie behind the very same noisy labels:

* **A, alike**: a clean class drawn from ``c(x)``, then 20 % of every class
  flipped;
* **B, one-sided**: a clean class drawn from ``c'(x) = p(x) / (1 - r)``, then
  20 % of the positives turned negative.

Both give every row the same probability ``p(x)`` of the noisy label 1, so
the rows, the noisy labels and every score computed from them are identical;
only which rows are corrupted (drawn from each truth's posterior given the
noisy label) and the clean test classes (expected accuracy against ``c`` or
``c'`` on the test part) differ. A clean validation part (15 % of the
training rows, its labels drawn from each truth's clean classes) does tell
them apart: the last columns give ``MTIFSelector(strategy="label-noise")``
with it, which trusts its rows in the noise model. ``c'`` is a proper probability whenever
``p <= 1 - r``, always true here; it is a natural one only where ``c`` stays
away from 0 (``min c'`` is printed): where features are weak, both truths
look like ordinary data, and a rule that ranks well under one ranks badly
under the other. Where features are strong, ``c'`` must keep every row at
least ``r / (1 - r)`` likely to be class 1, which a model whose classes are
sure somewhere (anchor points) rules out.
"""

import numpy as np
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from skmtl import MultiTaskLogistic
from skmtl.model_selection import task_train_test_split
from skmtl.selection import MTIFSelector

RATE = 0.2
DATA = ("contraception", "tv16", "har")


def _twins(data, seed):
    from selection_noisy import auc_of_corrupted, class_normalized, confidence, load, out_of_fold

    X, y = load(data, seed)
    X_train, X_test, y_train, _ = task_train_test_split(X, y, test_size=0.25, random_state=seed)
    X_train, X_val, y_train, _ = task_train_test_split(
        X_train, y_train, test_size=0.15, random_state=seed)
    scaler = StandardScaler().fit(X_train[:, :-1])
    X_train, X_val, X_test = (np.column_stack([scaler.transform(A[:, :-1]), A[:, -1]])
                              for A in (X_train, X_val, X_test))
    model = MultiTaskLogistic()
    clean = clone(model).fit(X_train, y_train)
    c_train, c_val, c_test = (clean.predict_proba(A)[:, 1] for A in (X_train, X_val, X_test))
    def noisy_class(c):  # P(noisy label 1): c flipped alike, or c' one-sided
        return (1 - 2 * RATE) * c + RATE

    def one_sided(c):  # truth B's clean classes c' behind the same noisy labels
        return noisy_class(c) / (1 - RATE)

    p, c_prime = noisy_class(c_train), one_sided(c_train)
    rng = np.random.default_rng(seed)
    noisy = (rng.random(len(p)) < p).astype(int)
    # posterior probability that a row's noisy label is wrong, under each truth
    wrong = {
        "A, alike": np.where(noisy == 1, (1 - c_train) * RATE / p, c_train * RATE / (1 - p)),
        "B, one-sided": np.where(noisy == 1, 0.0, c_prime * RATE / (1 - p)),
    }
    test_class = {"A, alike": c_test, "B, one-sided": one_sided(c_test)}
    val_draw = rng.random(len(c_val))
    val_labels = {"A, alike": (val_draw < c_val).astype(int),
                  "B, one-sided": (val_draw < one_sided(c_val)).astype(int)}
    draw = rng.random(len(p))

    def predict(rows):  # the test predictions of the model fitted on the noisy ``rows``
        return clone(model).fit(X_train[rows], noisy[rows]).predict(X_test)

    def expected_accuracy(prediction, truth):
        c = test_class[truth]
        return 100 * float(np.mean(np.where(prediction == 1, c, 1 - c)))

    scores = {
        "out-of-fold confidence": confidence(model, X_train, noisy, seed),
        "confidence / class mean": class_normalized(model, X_train, noisy, seed),
    }
    default = MTIFSelector(model, random_state=seed).fit(X_train, noisy)
    scores["label-noise, auto (default)"] = default.scores_
    named = MTIFSelector(model, random_state=seed, noise_kind="class-conditional").fit(
        X_train, noisy)
    from cleanlab.filter import find_label_issues

    flagged = find_label_issues(noisy, out_of_fold(model, X_train, noisy, seed, "predict_proba"),
                                n_jobs=1)
    # the same rows under both truths: each model is fitted once
    predictions = {name: predict(kept) for name, kept in {
        "everything": np.arange(len(noisy)),
        "gain, default": default.sample_indices_,
        "gain, noise_kind='class-conditional'": named.sample_indices_,
        "gain, cleanlab flagged rows": np.flatnonzero(~flagged),
    }.items()}
    out = {}
    for truth, chance in wrong.items():
        bad = draw < chance
        base = expected_accuracy(predictions["everything"], truth)
        row = {f"AUC, {name}": auc_of_corrupted(bad, s) for name, s in scores.items()}
        trusting = MTIFSelector(model, strategy="label-noise", random_state=seed).fit(
            X_train, noisy, X_val=X_val, y_val=val_labels[truth])
        row["AUC, label-noise with clean validation"] = roc_auc_score(bad, -trusting.scores_)
        # rows that depend on the truth
        predictions_here = {**predictions,
                            "gain, label-noise with clean validation":
                                predict(trusting.sample_indices_),
                            "gain, oracle (drop corrupted)": predict(np.flatnonzero(~bad))}
        for name in ("gain, default", "gain, label-noise with clean validation",
                     "gain, noise_kind='class-conditional'", "gain, cleanlab flagged rows",
                     "gain, oracle (drop corrupted)"):
            row[name] = expected_accuracy(predictions_here[name], truth) - base
        row["min c'"] = float((c_prime if truth.startswith("B") else c_train).min())
        row["called class-conditional"] = float(default.label_noise_.noise_kind
                                                == "class-conditional")
        out[truth] = row
    return out


def twins_report(seeds, jobs=1, data=DATA):
    """Print, per data set (names of ``selection_noisy.load``) and truth, each
    rule's AUC and test gain (mean ± std)."""
    from joblib import Parallel, delayed

    print(f"\nOne noisy data set, two truths ({seeds} seeds; r = {RATE}; gains in points of "
          "expected test accuracy against the truth's clean classes):\n")
    header = None
    for name in data:
        runs = Parallel(n_jobs=jobs)(delayed(_twins)(name, seed) for seed in range(seeds))
        for truth in runs[0]:
            columns = list(runs[0][truth])
            if header is None:
                header = columns
                print("| data | truth | " + " | ".join(columns) + " |")
                print("|---" * (len(columns) + 2) + "|")
            cells = []
            for column in columns:
                values = np.array([r[truth][column] for r in runs])
                cells.append(f"{values.mean():+.2f} ± {values.std():.2f}"
                             if column.startswith("gain") else f"{values.mean():.3f}")
            print(f"| {name} | {truth} | " + " | ".join(cells) + " |", flush=True)
