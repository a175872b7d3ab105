"""Grouped training and source-task selection (issue 19), against the talk's claims.

Three parts, one subcommand each::

    python benchmarks/bench_grouping.py grouping --seeds 5   # TaskGroupedEstimator vs one / K models
    python benchmarks/bench_grouping.py sources --seeds 5    # surrogate: F1 for negative transfer
    python benchmarks/bench_grouping.py search-time          # TAG search: greedy vs exhaustive

Run from the repository root with skmtl importable (``PYTHONPATH=.``).

``grouping``: on each data set and seed, every task's rows are split 1:1:2
into train / validation / test (stratified by task). Compared, by the mean
over tasks of the test loss (MSE, or log-loss for HAR) and by the time each
costs (affinity and all fits):

* one model for all tasks (the skmtl estimator on the training part);
* one model per task (``TaskGroupedEstimator`` with as many groups as tasks,
  i.e. the estimator fitted on each task alone);
* ``TaskGroupedEstimator`` with the MTIF affinity measured on the validation
  part, the higher-order affinity (refits on random subsets; regression
  only), and the MTIF affinity with ``n_groups`` chosen by 3-fold
  ``GridSearchCV`` on the training part.

No method fits on the validation part; the grouped ones use it to measure the
affinity. Won / tied / lost count seeds where the grouped model's test loss is
lower / within 0.5 % / higher than the baseline's.

Data sets: ``synthetic`` (12 tasks in three clusters, coefficients near
``+3 e_1``, ``-3 e_1`` and ``+3 e_2``, 10 training rows per task, 5 features,
h=0.5), ``exam`` (the 64 London schools with 8 rows or more, ridge) and
``har`` (30 subjects, sitting vs the rest, logistic, standardized features,
about 87 training rows per task).

``sources``: the talk's claim that a linear surrogate of subset losses predicts
negative transfer on unseen subsets with F1 > 0.8. Per seed: the surrogate
``f_t(S) ~ c_t + sum_{s in S} theta[s, t]`` is fitted to the validation losses of
refits on every single task plus ``4 K`` random subsets of random sizes; on
``2 K`` fresh random subsets (losses on the validation part for both), the
pair (subset ``S``, target ``t in S``) is a negative transfer when the refit on
``S`` gives ``t`` a higher loss than the refit on ``t`` alone, and the
surrogate predicts one when ``sum_{s in S, s != t} theta[s, t] > 0``.
Reported: F1 of the negative class, its base rate, the F1 of predicting a
negative transfer for every pair (the bar to clear), and the test-part loss
of each target trained with the sources
:func:`skmtl.relatedness.select_source_tasks` keeps (``theta < 0``) against
alone and with all tasks.

``search-time``: the time of ``group_tasks(A, n_groups, method="tag")`` as the
number of tasks grows, on matrices of standard normal affinities (seed 0,
``--groups`` groups at most): the greedy search (``search="greedy"``) and,
where the partitions into at most ``n_groups`` groups number at most
``--exhaustive-limit``, the exhaustive search in the same run, with the ratio
of their times and the two partitions' scores (TAG's total affinity, on the
scaled matrix). Each time is the fastest of ``--repeat``. Then the greedy
search against the best partition on ``--matrices`` random matrices of 3 to
11 tasks, each with a random budget from 1 to its number of tasks: how often
it finds the exhaustive search's partition, a different one of the same
score, or one of a lower score, and by how much. The greedy search is a
heuristic; this measures how often it misses, it does not assume it never
does.
"""

import argparse
import json
import time

import numpy as np
from sklearn.base import clone
from sklearn.metrics import f1_score
from sklearn.model_selection import GridSearchCV, KFold, train_test_split
from sklearn.preprocessing import StandardScaler

from skmtl import MultiTaskLogistic, MultiTaskRidge, TaskGroupedEstimator
from skmtl.datasets import load_exam, load_har, make_multitask_regression
from skmtl.inspection import task_losses
from skmtl.relatedness import group_tasks, select_source_tasks, task_subset_losses
from skmtl.relatedness._grouping import _n_partitions, _normalized, _partition_scores
from skmtl.relatedness._subsets import _fit_surrogate


def synthetic_clusters(seed, n_per_cluster=4, n_samples=40, n_features=5):
    """Three clusters of tasks: coefficients near +3 e_1, -3 e_1 and +3 e_2."""
    Xs, ys = [], []
    for c, (sign, shift) in enumerate([(1, 0), (-1, 0), (1, 1)]):
        X, y = make_multitask_regression(n_tasks=n_per_cluster, n_samples=n_samples,
                                         n_features=n_features, h=0.5, epsilon=0,
                                         random_state=1000 * seed + c)
        X[:, :-1] = np.roll(X[:, :-1], shift, axis=1)
        X[:, -1] += c * n_per_cluster
        Xs.append(X)
        ys.append(sign * y)
    return np.vstack(Xs), np.concatenate(ys)


def load(name, seed):
    """``(X, y, estimator)`` of a data set, features standardized, task column last."""
    if name == "synthetic":
        X, y = synthetic_clusters(seed)
        return X, y, MultiTaskRidge()
    if name == "exam":
        X, y = load_exam(return_X_y=True)
        counts = np.unique(X[:, -1], return_counts=True)
        keep = np.isin(X[:, -1], counts[0][counts[1] >= 8])  # a split needs rows in all three parts
        return X[keep], y[keep], MultiTaskRidge()
    X, y = load_har(return_X_y=True)
    X[:, :-1] = StandardScaler().fit_transform(X[:, :-1])
    return X, y, MultiTaskLogistic()


def split(X, y, seed):
    """Train / validation / test as 1:1:2 within every task."""
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.5, stratify=X[:, -1], random_state=seed)
    X_tr, X_va, y_tr, y_va = train_test_split(X_tr, y_tr, test_size=0.5, stratify=X_tr[:, -1],
                                              random_state=seed)
    return X_tr, y_tr, X_va, y_va, X_te, y_te


def timed(make):
    start = time.perf_counter()
    model = make()
    return model, time.perf_counter() - start


def grouping_run(name, seed, n_groups):
    X, y, est = load(name, seed)
    X_tr, y_tr, X_va, y_va, X_te, y_te = split(X, y, seed)
    n_tasks = len(np.unique(X[:, -1]))
    val = dict(X_val=X_va, y_val=y_va)
    methods = {
        "one model": lambda: clone(est).fit(X_tr, y_tr),
        "per task": lambda: TaskGroupedEstimator(est, n_groups=n_tasks, affinity=np.zeros((n_tasks, n_tasks)))
        .fit(X_tr, y_tr),
        "grouped, MTIF": lambda: TaskGroupedEstimator(est, n_groups=n_groups, random_state=seed)
        .fit(X_tr, y_tr, **val),
        "grouped, MTIF, CV n_groups": lambda: GridSearchCV(
            TaskGroupedEstimator(est, random_state=seed),
            {"n_groups": [1, 2, 4] if name == "har" else [1, 2, 3, 4, 6]},
            cv=KFold(3, shuffle=True, random_state=seed),
            scoring="neg_log_loss" if name == "har" else "neg_mean_squared_error",
        ).fit(X_tr, y_tr, **val).best_estimator_,
    }
    if name != "har":  # higher-order on HAR: 150 logistic refits per seed, too many here
        methods["grouped, higher-order"] = lambda: TaskGroupedEstimator(
            est, n_groups=n_groups, affinity="higher_order", random_state=seed).fit(X_tr, y_tr, **val)
    out = {}
    for method, make in methods.items():
        model, seconds = timed(make)
        out[method] = {
            "loss": float(np.nanmean(task_losses(model, X_te, y_te))),
            "seconds": seconds,
            "n_groups": int(model.groups_.max() + 1) if hasattr(model, "groups_") else 1,
        }
    return out


def summarize(runs, reference="grouped, MTIF"):
    methods = list(runs[0])
    lines = ["| method | test loss, mean ± std | groups | seconds | grouped MTIF won/tied/lost vs it |",
             "|---|---|---|---|---|"]
    ref = np.array([r[reference]["loss"] for r in runs])
    for method in methods:
        loss = np.array([r[method]["loss"] for r in runs])
        sec = np.array([r[method]["seconds"] for r in runs])
        groups = [r[method]["n_groups"] for r in runs]
        rel = (ref - loss) / loss
        record = "" if method == reference else (
            f"{(rel < -0.005).sum()}/{(abs(rel) <= 0.005).sum()}/{(rel > 0.005).sum()}")
        lines.append(f"| {method} | {loss.mean():.4f} ± {loss.std():.4f} | "
                     f"{min(groups)}-{max(groups)} | {sec.mean():.2f} | {record} |")
    return "\n".join(lines)


def sources_run(name, seed, n_tasks_limit=None):
    X, y, est = load(name, seed)
    X_tr, y_tr, X_va, y_va, X_te, y_te = split(X, y, seed)
    tasks = np.unique(X[:, -1])
    K = len(tasks)
    rng = np.random.RandomState(seed)

    def random_subsets(m):
        sizes = rng.randint(2, K + 1, size=m)
        order = np.argsort(rng.rand(m, K), axis=1)
        return np.array([np.isin(np.arange(K), order[i, :sizes[i]]) for i in range(m)])

    alone = np.eye(K, dtype=bool)
    train = np.vstack([alone, random_subsets(4 * K)])
    fresh = random_subsets(2 * K)
    val, test = (est, X_tr, y_tr, X_va, y_va), (est, X_tr, y_tr, X_te, y_te)
    train_losses = task_subset_losses(*val, subsets=train).losses
    fresh_losses = task_subset_losses(*val, subsets=fresh).losses
    theta, _ = _fit_surrogate(train, train_losses)
    alone_loss = np.diag(train_losses[:K])
    truth, predicted = [], []
    for S, losses in zip(fresh, fresh_losses):
        for t in np.flatnonzero(S):
            truth.append(losses[t] > alone_loss[t])
            predicted.append(np.nansum(theta[S, t]) > 0)
    truth, predicted = np.array(truth), np.array(predicted)
    # each target trained with the sources the surrogate selects (theta < 0)
    selected = select_source_tasks(-np.nan_to_num(theta), threshold=0.0)
    chosen = np.array([np.isin(np.arange(K), np.append(selected[t], t)) for t in range(K)])
    chosen_losses = task_subset_losses(
        *test, subsets=np.vstack([chosen, alone, np.ones((1, K), bool)])).losses
    return {
        "f1": float(f1_score(truth, predicted)),
        "negative_rate": float(truth.mean()),
        # F1 of predicting "negative" for every pair: the bar a predictor must clear
        "f1_always_negative": float(2 * truth.mean() / (1 + truth.mean())),
        "accuracy": float((truth == predicted).mean()),
        "alone": float(np.diag(chosen_losses[K:2 * K]).mean()),
        "selected": float(np.diag(chosen_losses[:K]).mean()),
        "all": float(chosen_losses[-1].mean()),
        "n_selected": float(np.mean([len(v) for v in selected.values()])),
        "n_fits": int(len(train) + len(fresh) + 2 * K + 1),
    }


def fastest(make, repeat):
    """``timed(make)`` ``repeat`` times: the result and the least time."""
    return min((timed(make) for _ in range(repeat)), key=lambda run: run[1])


def tag_score(A, labels):
    """TAG's total affinity of one partition, on the scaled matrix ``group_tasks`` searches."""
    return float(_partition_scores(_normalized(A), np.asarray(labels)[None])[0])


def search_time(tasks, n_groups, exhaustive_limit, repeat):
    """Greedy (and, where feasible, exhaustive) TAG search time as the tasks grow."""
    print(f"\n### TAG search time, standard normal affinities, at most {n_groups} groups, "
          f"fastest of {repeat}\n")
    print("| tasks | partitions | greedy s | exhaustive s | exhaustive / greedy "
          "| greedy score | best score |\n|---|---|---|---|---|---|---|")
    greedy_times = []
    for n in tasks:
        A = np.random.default_rng(0).normal(size=(n, n))
        k = min(n_groups, n)
        greedy, seconds = fastest(lambda: group_tasks(A, k, method="tag", search="greedy"), repeat)
        greedy_times.append(seconds)
        partitions = _n_partitions(n, k)
        cells = "- | - | " + f"{tag_score(A, greedy):.3f} | -"
        if partitions <= exhaustive_limit:
            best, best_s = fastest(lambda: group_tasks(A, k, method="tag", search="exhaustive"), repeat)
            cells = (f"{best_s:.3f} | {best_s / seconds:.3g} | {tag_score(A, greedy):.3f} "
                     f"| {tag_score(A, best):.3f}")
        digits = str(partitions)  # may exceed a float's range
        count = f"{partitions:,}" if len(digits) < 8 else f"{digits[0]}.{digits[1:3]}e{len(digits) - 1}"
        print(f"| {n:,} | {count} | {seconds:.3f} | {cells} |", flush=True)
    if len(tasks) > 1:
        print("\ngreedy time ratio of consecutive sizes (the size ratio cubed): " + ", ".join(
            f"{a:,} -> {b:,} tasks: {tb / ta:.1f} ({(b / a) ** 3:.1f})"
            for a, b, ta, tb in zip(tasks, tasks[1:], greedy_times, greedy_times[1:])))


def search_agreement(n_matrices):
    """The greedy search against the exhaustive one on random small matrices and budgets."""
    rng = np.random.default_rng(0)
    same = tied = 0
    shortfalls = []
    start = time.perf_counter()
    for _ in range(n_matrices):
        n = int(rng.integers(3, 12))
        k = int(rng.integers(1, n + 1))
        A = rng.normal(size=(n, n))
        greedy = group_tasks(A, k, method="tag", search="greedy")
        best = group_tasks(A, k, method="tag", search="exhaustive")
        gap = tag_score(A, best) - tag_score(A, greedy)
        if np.array_equal(greedy, best):
            same += 1
        elif gap <= 1e-9:
            tied += 1
        else:
            shortfalls.append((gap, tag_score(A, best), n, k))
    print(f"\n### Greedy against exhaustive, {n_matrices} standard normal matrices of 3 to 11 tasks, "
          f"budgets 1 to n ({time.perf_counter() - start:.0f} s)\n")
    print(f"same partition: {same}; another partition of the same score: {tied}; "
          f"a lower score: {len(shortfalls)}")
    if shortfalls:
        gap, best, n, k = max(shortfalls)
        gaps = np.array([s[0] / abs(s[1]) for s in shortfalls])
        print(f"where lower, the score short of the best by {np.median(gaps):.1%} of it (median), "
              f"{gaps.max():.1%} at most; the largest gap {gap:.3f} of {best:.3f} ({n} tasks, "
              f"at most {k} groups)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["grouping", "sources", "search-time"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--datasets", nargs="+", default=None)
    parser.add_argument("--json", default=None, help="write the raw results here")
    search = parser.add_argument_group("search-time")
    search.add_argument("--tasks", type=int, nargs="+", default=[8, 10, 50, 100, 200, 400, 1000])
    search.add_argument("--groups", type=int, default=5, help="the budget: groups at most")
    search.add_argument("--exhaustive-limit", type=int, default=200_000,
                        help="time the exhaustive search where the partitions are at most this many")
    search.add_argument("--repeat", type=int, default=3)
    search.add_argument("--matrices", type=int, default=400,
                        help="random small matrices on which greedy meets exhaustive (0: none)")
    args = parser.parse_args()
    results = {}
    if args.part == "search-time":
        search_time(args.tasks, args.groups, args.exhaustive_limit, args.repeat)
        if args.matrices:
            search_agreement(args.matrices)
        return
    if args.part == "grouping":
        for name in args.datasets or ["synthetic", "exam", "har"]:
            n_groups = 3 if name == "synthetic" else 4
            runs = [grouping_run(name, seed, n_groups) for seed in range(args.seeds)]
            results[name] = runs
            print(f"\n### {name} ({args.seeds} seeds, n_groups={n_groups} unless tuned)\n")
            print(summarize(runs), flush=True)
    else:
        for name in args.datasets or ["synthetic", "exam"]:
            runs = [sources_run(name, seed) for seed in range(args.seeds)]
            results[name] = runs
            print(f"\n### {name} ({args.seeds} seeds)\n")
            print("| seed | F1 (negative transfer) | F1 of always negative | base rate | accuracy "
                  "| loss alone | with selected | with all | sources kept | fits |")
            print("|---|---|---|---|---|---|---|---|---|---|")
            for seed, r in enumerate(runs):
                print(f"| {seed} | {r['f1']:.3f} | {r['f1_always_negative']:.3f} | "
                      f"{r['negative_rate']:.2f} | {r['accuracy']:.3f} | "
                      f"{r['alone']:.4f} | {r['selected']:.4f} | {r['all']:.4f} | "
                      f"{r['n_selected']:.1f} | {r['n_fits']} |")
            f1 = np.array([r["f1"] for r in runs])
            print(f"\nF1 {f1.mean():.3f} ± {f1.std():.3f} (min {f1.min():.3f})", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
