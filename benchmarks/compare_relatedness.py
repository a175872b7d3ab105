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

Also printed: the cost of each measure (seconds, model fits); a paired
comparison over seeds of MTIF's mean Spearman against TAG, first-order TAG
and cosine (mean difference ± SE, seeds won, one-sided Wilcoxon signed-rank
and sign-test p-values); the surrogate's R^2 on fresh subsets for m = f K
training subsets (``--surrogate-factors``, default 5 and 10); and how close
Grad-TAE's estimated subset losses are to real refits on the same subsets.

Run: ``python benchmarks/compare_relatedness.py --seeds 100 --har-seeds 0``
(synthetic, three sizes: about 7 minutes on 2 shared cores, one BLAS thread;
HAR: ``--sizes --har-seeds 3``, about 2 minutes per split, its surrogate and
higher-order use m = 2K subsets).
"""

import argparse
import time

import numpy as np
from scipy.stats import binomtest, pearsonr, spearmanr, wilcoxon
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


def subset_checks(estimator, X, y, X_val, y_val, seed, factors=(5, 10), n_fresh=5):
    """Surrogate R^2 on fresh subsets for m = f K training subsets (f in ``factors``),
    and Grad-TAE vs refit subset losses on the fresh subsets.

    The training subsets are distinct and nested (the m = 5K set is the first
    half of the m = 10K set) and every m is scored on the same ``n_fresh * K``
    fresh subsets, distinct and none of them a training subset (until the
    thirty-eighth session both were drawn with replacement, so that about a
    third of the "fresh" subsets of K = 10 had been trained on). Per target t, R^2 is computed over
    the fresh subsets holding t: ``1 - SSE_t / SST_t``, with ``SST_t`` the
    spread of t's actual loss around its mean over those subsets. Summaries:
    median and mean over targets (and seeds), the fraction of targets with
    R^2 >= 0.8, and pooled within target (``1 - sum_t SSE_t / sum_t SST_t``).
    ``r2_mean_low_var`` / ``r2_mean_high_var``: mean R^2 over the targets whose
    relative loss spread (sd / mean of the actual loss over the fresh subsets)
    is below / above that seed's median -- R^2 divides by ``SST_t``, so it is
    ill-conditioned where a target's loss barely depends on the subset; for
    the low-spread half also the median relative spread and the median
    prediction error (RMSE / mean loss).
    """
    K = len(np.unique(X[:, -1]))
    rng = np.random.RandomState(seed)
    pool = task_subset_losses(estimator, X, y, X_val, y_val,
                              subsets=_sample_subsets(K, max(factors) * K, None, rng))
    fresh = task_subset_losses(estimator, X, y, X_val, y_val, subsets=_sample_subsets(
        K, n_fresh * K, None, rng, exclude=pool.subsets))
    held = fresh.subsets & np.isfinite(fresh.losses)
    spread = np.array([fresh.losses[held[:, t], t].std() / fresh.losses[held[:, t], t].mean()
                       for t in range(K)])
    low = spread < np.median(spread)
    out = {}
    for f in factors:
        theta, c = _fit_surrogate(pool.subsets[:f * K], pool.losses[:f * K])
        pred = c[None] + fresh.subsets @ np.nan_to_num(theta)
        sse = np.array([np.sum((fresh.losses[held[:, t], t] - pred[held[:, t], t]) ** 2)
                        for t in range(K)])
        sst = np.array([np.sum((fresh.losses[held[:, t], t]
                                - fresh.losses[held[:, t], t].mean()) ** 2) for t in range(K)])
        r2 = 1 - sse / sst
        means = np.array([fresh.losses[held[:, t], t].mean() for t in range(K)])
        rel_rmse = np.sqrt(sse / held.sum(axis=0)) / means
        out[f] = {"r2_per_target": r2, "r2_pooled": 1 - sse.sum() / sst.sum(),
                  "r2_mean_low_var": r2[low].mean(), "r2_mean_high_var": r2[~low].mean(),
                  "spread_low_var": np.median(spread[low]),
                  "spread_high_var": np.median(spread[~low]),
                  "rel_rmse_low_var": np.median(rel_rmse[low])}
    grad = task_subset_losses(estimator, X, y, X_val, y_val, subsets=fresh.subsets,
                              method="gradient")
    real, est = fresh.losses[held], grad.losses[held]
    # within-target agreement: correlation over subsets of each target's losses
    within = [pearsonr(fresh.losses[held[:, t], t], grad.losses[held[:, t], t]).statistic
              for t in range(K)]
    out["gradtae_rel_err"] = np.median(np.abs(est - real) / real)
    out["gradtae_within_r"] = np.nanmean(within)
    return out


def print_subset_checks(checks, factors, n_fresh):
    K = len(checks[0][factors[0]]["r2_per_target"])
    print(f"\nSurrogate R^2 on {n_fresh}K = {n_fresh * K} fresh subsets of size ceil(K/2), "
          f"{len(checks)} seeds x {K} targets (per-target R^2 pooled over seeds and targets "
          "for median / mean / fraction / 10th percentile; pooled-within-target and the "
          "low/high loss-spread means averaged over seeds):\n")
    print("| training subsets m | median R^2 | mean R^2 | targets with R^2 >= 0.8 "
          "| 10th pct R^2 | pooled R^2 | mean R^2, low-spread half | mean R^2, high-spread half "
          "| loss sd / mean, low / high half | low-spread half: RMSE / mean loss |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for f in factors:
        r2 = np.concatenate([c[f]["r2_per_target"] for c in checks])
        avg = {k: np.mean([c[f][k] for c in checks])
               for k in ("r2_pooled", "r2_mean_low_var", "r2_mean_high_var",
                         "spread_low_var", "spread_high_var", "rel_rmse_low_var")}
        print(f"| {f}K = {f * K} | {np.median(r2):.3f} | {r2.mean():.3f} | "
              f"{np.mean(r2 >= 0.8):.0%} | {np.percentile(r2, 10):.3f} | "
              f"{avg['r2_pooled']:.3f} | {avg['r2_mean_low_var']:.3f} | "
              f"{avg['r2_mean_high_var']:.3f} | "
              f"{avg['spread_low_var']:.1%} / {avg['spread_high_var']:.1%} | "
              f"{avg['rel_rmse_low_var']:.1%} |")
    print(f"\nGrad-TAE vs refits on the same {n_fresh * K} fresh subsets: median relative "
          f"error {np.mean([c['gradtae_rel_err'] for c in checks]):.3f}, mean within-target "
          f"r {np.mean([c['gradtae_within_r'] for c in checks]):.3f}")


def print_paired(scores, reference="MTIF", others=("TAG", "TAG (1st order)", "Cosine")):
    """Per seed, the reference's mean Spearman minus each other measure's (paired over seeds)."""
    ref = np.nanmean(np.asarray(scores[reference]), axis=1)
    n = len(ref)
    if n < 2:
        return
    print(f"\nPaired over seeds: {reference}'s mean Spearman (test LOTO) minus the other "
          f"measure's, same data set per seed ({n} seeds); one-sided p-values for "
          f"H1: {reference} > other\n")
    print("| comparison | mean difference ± SE | seeds won "
          "| Wilcoxon signed-rank p | sign test p |")
    print("|---|---|---|---|---|")
    for o in others:
        d = ref - np.nanmean(np.asarray(scores[o]), axis=1)
        se = d.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
        wins, losses = int(np.sum(d > 0)), int(np.sum(d < 0))
        p_w = wilcoxon(d, alternative="greater").pvalue if np.any(d != 0) else np.nan
        p_s = (binomtest(wins, wins + losses, alternative="greater").pvalue
               if wins + losses else np.nan)
        print(f"| {reference} - {o} | {d.mean():+.3f} ± {se:.3f} | {wins}/{n} | "
              f"{p_w:.2g} | {p_s:.2g} |")


def run(name, estimator, datasets, factor=5, checks_on=True, n_cols=10,
        r2_factors=(5, 10), n_fresh=5):
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
            checks.append(subset_checks(estimator, X, y, X_va, y_va, seed,
                                        r2_factors, n_fresh))
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
    print_paired(scores)
    if checks:
        print_subset_checks(checks, list(r2_factors), n_fresh)


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
    parser.add_argument("--surrogate-factors", type=int, nargs="+", default=[5, 10],
                        help="surrogate R^2 check: fit on m = f*K subsets for each f")
    parser.add_argument("--fresh-factor", type=int, default=5,
                        help="surrogate R^2 check: score on this many times K fresh subsets")
    args = parser.parse_args()
    start = time.perf_counter()
    for n in args.sizes:
        run(f"Synthetic regression, {n} rows per task (MultiTaskRidge)", MultiTaskRidge(),
            list(synthetic(args.seeds, n)), r2_factors=args.surrogate_factors,
            n_fresh=args.fresh_factor)
    if args.har_seeds:
        # a HAR fit takes seconds: m = 2K subsets and no subset checks keep it under ~15 min
        run("HAR, sitting vs rest (MultiTaskLogistic, PCA 30)", MultiTaskLogistic(),
            list(har(args.har_seeds)), factor=2, checks_on=False)
    print(f"\nTotal time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
