"""Which task relatedness measure predicts leave-one-task-out (LOTO) effects best?

Protocol of the MTIF paper (Section 4.1, Tables 1 and 10-12): every measure
is computed from training + validation data, the ground truth is the
brute-force LOTO effect measured on held-out test data, and each target
task's score is the Spearman correlation, over the other (source) tasks,
between the measure's column and the LOTO column.

* synthetic: ``make_multitask_regression`` (10 tasks, 150, 300 or 600 rows
  per task, 10 features, h=1, epsilon=0.2), split 1:1:1 per task,
  ``MultiTaskRidge()``; one data set per seed. (The paper's sample sizes
  did not survive its text extraction, hence three sizes.)
* HAR: ``load_har`` (30 subjects, "sitting" vs rest), standardized and
  PCA-reduced to 30 components (fitted on the training rows), split
  80/10/10 per task as in the paper's Appendix C.2.1, ``MultiTaskLogistic()``;
  one split per seed.

The "MTIF (exact/newton; reference)" row is the closed-form (ridge) or
one-Newton-step (logistic) refit effect on the validation data: how well a
perfect estimate of the validation LOTO can track the test LOTO. The summary
also scores every measure against LOTO measured on the validation data
itself.

Also printed: the cost of each measure (seconds, model fits), the surrogate's
R^2 on fresh subsets, and how close Grad-TAE's estimated subset losses are to
real refits on the same subsets.

Run: ``python benchmarks/compare_relatedness.py --seeds 20 --har-seeds 1``
(synthetic: about 1 minute on 2 cores; HAR: about 15 minutes, its surrogate
and higher-order use m = 2K subsets).
"""

import argparse
import time

import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skmtl import MultiTaskLogistic, MultiTaskRidge
from skmtl.datasets import make_multitask_regression
from skmtl.datasets._real import load_har
from skmtl.inspection import loto_effects
from skmtl.relatedness import (
    cosine_affinity,
    gradient_affinity,
    higher_order_affinity,
    surrogate_affinity,
    tag_affinity,
    task_subset_losses,
)
from skmtl.relatedness._subsets import _fit_surrogate, _sample_subsets


def split_per_task(X, y, sizes, seed):
    """Split rows into train/val/test with the given fractions within every task."""
    task = X[:, -1]
    X_tr, X_rest, y_tr, y_rest = train_test_split(
        X, y, train_size=sizes[0], stratify=task, random_state=seed
    )
    share = sizes[1] / (sizes[1] + sizes[2])
    X_va, X_te, y_va, y_te = train_test_split(
        X_rest, y_rest, train_size=share, stratify=X_rest[:, -1], random_state=seed
    )
    return X_tr, y_tr, X_va, y_va, X_te, y_te


def measures(estimator, X, y, X_val, y_val, seed, factor):
    """Every measure: name -> (affinity, seconds, model fits)."""
    K = len(np.unique(X[:, -1]))
    m = factor * K

    def mtif(method):
        model = type(estimator)(**estimator.get_params()).fit(X, y)
        return lambda: model.task_relatedness(X_val, y_val, method=method)

    refit = estimator._refit_method
    calls = {
        "MTIF": (lambda: mtif("mtif")(), 1),
        f"MTIF ({refit}; reference)": (lambda: mtif(refit)(), 1),
        "TAG": (lambda: tag_affinity(estimator, X, y, X_val, y_val), 1),
        "TAG (1st order)": (
            lambda: tag_affinity(estimator, X, y, X_val, y_val, method="first_order"), 1),
        "Cosine": (lambda: cosine_affinity(estimator, X, y, X_val, y_val), 1),
        "Surrogate": (
            lambda: surrogate_affinity(estimator, X, y, X_val, y_val, n_subsets=m,
                                      random_state=seed), m),
        "Higher-order": (
            lambda: higher_order_affinity(estimator, X, y, X_val, y_val, n_subsets=m,
                                      random_state=seed), m),
        "Grad-TAE (higher-order)": (
            lambda: gradient_affinity(estimator, X, y, X_val, y_val, n_subsets=m,
                                      random_state=seed), 1),
        "Grad-TAE (surrogate)": (
            lambda: gradient_affinity(estimator, X, y, X_val, y_val, kind="surrogate",
                                      n_subsets=m, random_state=seed), 1),
    }
    out = {}
    for name, (call, fits) in calls.items():
        start = time.perf_counter()
        A = call()
        out[name] = (A, time.perf_counter() - start, fits)
    return out


def spearman_per_target(A, loto):
    K = A.shape[0]
    out = np.full(K, np.nan)
    for t in range(K):
        src = np.arange(K) != t
        if np.ptp(A[src, t]) > 0 and np.ptp(loto[src, t]) > 0:
            out[t] = spearmanr(A[src, t], loto[src, t]).statistic
    return out


def subset_checks(estimator, X, y, X_val, y_val, seed):
    """Surrogate R^2 on fresh subsets, and Grad-TAE vs refit subset losses."""
    K = len(np.unique(X[:, -1]))
    rng = np.random.RandomState(seed)
    train = task_subset_losses(estimator, X, y, X_val, y_val,
                               subsets=_sample_subsets(K, 5 * K, None, rng))
    fresh = task_subset_losses(estimator, X, y, X_val, y_val,
                               subsets=_sample_subsets(K, 5 * K, None, rng))
    theta, c = _fit_surrogate(train.subsets, train.losses)
    pred = c[None] + fresh.subsets @ np.nan_to_num(theta)
    held = fresh.subsets & np.isfinite(fresh.losses)
    r2 = []
    sse = sst = 0.0
    for t in range(K):
        a, p = fresh.losses[held[:, t], t], pred[held[:, t], t]
        r2.append(1 - np.sum((a - p) ** 2) / np.sum((a - a.mean()) ** 2))
        sse, sst = sse + np.sum((a - p) ** 2), sst + np.sum((a - a.mean()) ** 2)
    grad = task_subset_losses(estimator, X, y, X_val, y_val, subsets=fresh.subsets,
                              method="gradient")
    real, est = fresh.losses[held], grad.losses[held]
    # within-target agreement: correlation over subsets of each target's losses
    within = [pearsonr(fresh.losses[held[:, t], t], grad.losses[held[:, t], t]).statistic
              for t in range(K)]
    return {
        "r2_median": np.median(r2), "r2_mean": np.mean(r2), "r2_pooled": 1 - sse / sst,
        "gradtae_rel_err": np.median(np.abs(est - real) / real),
        "gradtae_within_r": np.nanmean(within),
    }


def run(name, estimator, datasets, factor=5, checks_on=True, n_cols=10):
    scores, in_sample, costs, checks = {}, {}, {}, []
    for seed, (X, y, X_va, y_va, X_te, y_te) in datasets:
        start = time.perf_counter()
        loto = loto_effects(estimator, X, y, X_te, y_te)
        K = loto.shape[0]
        costs.setdefault("LOTO (ground truth)", []).append((time.perf_counter() - start, K + 1))
        loto_val = loto_effects(estimator, X, y, X_va, y_va)
        for m, (A, sec, fits) in measures(estimator, X, y, X_va, y_va, seed, factor).items():
            scores.setdefault(m, []).append(spearman_per_target(A, loto))
            in_sample.setdefault(m, []).append(np.nanmean(spearman_per_target(A, loto_val)))
            costs.setdefault(m, []).append((sec, fits))
        if checks_on:
            checks.append(subset_checks(estimator, X, y, X_va, y_va, seed))
    print(f"\n## {name}: Spearman with LOTO per target task, mean ± sd over {len(datasets)} seeds\n")
    K = len(next(iter(scores.values()))[0])
    for lo in range(0, K, n_cols):
        cols = range(lo, min(lo + n_cols, K))
        print("| Method | " + " | ".join(f"Task {t + 1}" for t in cols) + " |")
        print("|---" * (len(cols) + 1) + "|")
        for m, s in scores.items():
            s = np.asarray(s)
            cells = [f"{np.nanmean(s[:, t]):.2f} ± {np.nanstd(s[:, t]):.2f}" for t in cols]
            print(f"| {m} | " + " | ".join(cells) + " |")
        print()
    print("| Method | mean Spearman (LOTO on test) | sd over seeds | "
          "mean Spearman (LOTO on validation) | seconds per run | model fits |")
    print("|---|---|---|---|---|---|")
    for m, s in scores.items():
        per_seed = np.nanmean(np.asarray(s), axis=1)
        sec = np.mean([c[0] for c in costs[m]])
        print(f"| {m} | {per_seed.mean():.3f} | {per_seed.std():.3f} | "
              f"{np.mean(in_sample[m]):.3f} | {sec:.2f} | {costs[m][0][1]} |")
    sec = np.mean([c[0] for c in costs["LOTO (ground truth)"]])
    print(f"| LOTO (ground truth) | 1 | 0 | 1 | {sec:.2f} | {costs['LOTO (ground truth)'][0][1]} |")
    if not checks:
        return
    print("\nSubset measures (m = 5K subsets of size ceil(K/2); means over seeds):")
    for k in checks[0]:
        print(f"  {k}: {np.mean([c[k] for c in checks]):.3f}")


def synthetic(n_seeds, n_samples):
    for seed in range(n_seeds):
        X, y = make_multitask_regression(n_tasks=10, n_samples=n_samples, random_state=seed)
        yield seed, split_per_task(X, y, (1 / 3, 1 / 3, 1 / 3), seed)


def har(n_seeds, n_components=30):
    X, y = load_har(return_X_y=True)
    for seed in range(n_seeds):
        X_tr, y_tr, X_va, y_va, X_te, y_te = split_per_task(X, y, (0.8, 0.1, 0.1), seed)
        scaler = StandardScaler().fit(X_tr[:, :-1])
        pca = PCA(n_components, random_state=seed).fit(scaler.transform(X_tr[:, :-1]))

        def reduce(A):
            return np.column_stack([pca.transform(scaler.transform(A[:, :-1])), A[:, -1]])

        yield seed, (reduce(X_tr), y_tr, reduce(X_va), y_va, reduce(X_te), y_te)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="synthetic data sets")
    parser.add_argument("--sizes", type=int, nargs="*", default=[150, 300, 600],
                        help="rows per synthetic task (before the 1:1:1 split)")
    parser.add_argument("--har-seeds", type=int, default=1, help="HAR splits (0 to skip)")
    args = parser.parse_args()
    start = time.perf_counter()
    for n in args.sizes:
        run(f"Synthetic regression, {n} rows per task (MultiTaskRidge)", MultiTaskRidge(),
            list(synthetic(args.seeds, n)))
    if args.har_seeds:
        # a HAR fit takes seconds: m = 2K subsets and no subset checks keep it under ~15 min
        run("HAR, sitting vs rest (MultiTaskLogistic, PCA 30)", MultiTaskLogistic(),
            list(har(args.har_seeds)), factor=2, checks_on=False)
    print(f"\nTotal time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
