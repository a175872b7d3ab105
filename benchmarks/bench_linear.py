"""Benchmarks of the linear core: speed, scale, growth and accuracy of MTIF.

Parts, one subcommand each (``all`` runs all but ``relatedness``, in order)::

    python benchmarks/bench_linear.py speed      # (a) MTIF vs a dense-Hessian solve, K=30, d=100
    python benchmarks/bench_linear.py scale      # (b) K=200, d=200: time and peak memory
    python benchmarks/bench_linear.py growth     # (c) time as K and d grow, fitted exponents
    python benchmarks/bench_linear.py accuracy   # (d) the paper's Table 1 and LOO/LOTO agreement
    python benchmarks/bench_linear.py threads    # BLAS threads vs block size (skmtl's own limit)
    python benchmarks/bench_linear.py relatedness  # exact / Newton task relatedness as K grows
    python benchmarks/bench_linear.py --threads 1 speed   # BLAS limited to one thread

Run from the repository root with skmtl importable (``pip install -e .`` or
``PYTHONPATH=.``). On a machine with more cores, ``taskset -c 0,1`` reproduces
the 2-core setting of the targets.

(a) times ``MultiTaskRidge.influence(X_val, y_val)`` (all rows x all tasks,
from a fitted model whose cache is cleared, so the Hessian blocks and the
per-row and validation gradients are inside the timing), its parts (those
common inputs; the arrow factorization; the arrow scores; each under the BLAS
thread setting ``influence()`` itself uses), and the same scores
from the dense ``(K p + p)``-square Hessian (``p = d + 1`` with the intercept)
built from the same blocks and factorized by Cholesky, by two routes: solving
for the K validation gradients (the cheapest dense route) and solving for every
training row's gradient (the route of generic influence code). Times are the
minimum over interleaved repeats in one process, so every ratio is measured
under the same load; the scores are checked to agree.

(b) runs each configuration in a fresh subprocess (two per configuration: one
without tracemalloc for wall time and peak RSS, one under tracemalloc for
the peak of numpy allocations), so the peak resident set size belongs to that
run alone.

``relatedness`` times ``task_relatedness(method=...)`` (``exact`` for
``MultiTaskRidge``, the default; ``newton`` for ``MultiTaskLogistic``,
``--model logistic``; the training data as validation data) on
``make_multitask_regression`` / ``make_multitask_classification`` data as the
number of tasks K grows, ``--rows`` per task or ``--total-rows`` shared among
the tasks. Each timed call starts from the fitted model with its
cache cleared (Hessian blocks, gradients and factorizations inside the
timing), minimum of ``--repeat``. Beside it, in the same process and under
the same load: the first-order ``method="mtif"`` timed the same way, and,
where K is at most ``--refit-limit``, brute-force leave-one-task-out refits
(``loto_effects``, timed once) with the largest gap between the two. The
ratios are of times taken in this run; the time ratio as K doubles and the
fitted exponent (time ~ K^b) say how the method grows in the tasks. The
last column, ``rows``, times ``influence_total(method=...)`` the same way: the
effect of removing each training row on every task, summed per row. The
commands behind the figures in RESULTS.md::

    python benchmarks/bench_linear.py relatedness --tasks 100 200 400 --total-rows 8000 --features 10
    python benchmarks/bench_linear.py relatedness --tasks 1000 --rows 100 --features 20
    python benchmarks/bench_linear.py relatedness --model logistic --tasks 300 --rows 50
    python benchmarks/bench_linear.py relatedness --tasks 1000 --rows 10 --repeat 1
    python benchmarks/bench_linear.py relatedness --model logistic --tasks 1000 --rows 10 --repeat 1

(d) follows the paper's synthetic setting (Section 4.1, C.2.1): tasks drawn by
``make_multitask_regression`` (``theta_k = 3 e_1 + delta_k``, ``||delta_k|| =
h``, a fraction ``epsilon`` of unrelated tasks), each task split 1:1:1 into
train / validation / test, ``MultiTaskRidge(alpha=1)``, task relatedness from
the validation part, brute-force leave-one-task-out measured on the test part,
Spearman over the 9 source tasks of every target task. It ends with the
logistic model's task level on HAR (30 volunteers, standardized features,
a task-stratified 80/20 split): first-order and Newton task relatedness
against leave-one-task-out refits, over all source/target pairs.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc

import numpy as np
from scipy import linalg
from scipy.stats import pearsonr, spearmanr
from threadpoolctl import threadpool_info, threadpool_limits

from skmtl import MultiTaskLogistic, MultiTaskRidge
from skmtl.base import blas_threads_for_blocks
from skmtl.datasets import make_multitask_classification, make_multitask_regression
from skmtl.inspection import loo_effects, loto_effects

# MTIF paper, Table 1 (synthetic data, Spearman of task-level MTIF vs LOTO, mean and std)
PAPER_TABLE1 = [(0.84, 0.05), (0.72, 0.05), (0.74, 0.11), (0.81, 0.05), (0.71, 0.09),
                (0.74, 0.04), (0.74, 0.07), (0.84, 0.03), (0.74, 0.03), (0.65, 0.07)]


# -- data --------------------------------------------------------------------------------
def split_per_task(X, y, n_parts, rng):
    """Split every task's rows at random into ``n_parts`` equal parts."""
    parts = [[] for _ in range(n_parts)]
    for task in np.unique(X[:, -1]):
        rows = rng.permutation(np.flatnonzero(X[:, -1] == task))
        for part, chunk in zip(parts, np.array_split(rows, n_parts)):
            part.append(chunk)
    return [(X[np.concatenate(p)], y[np.concatenate(p)]) for p in parts]


def regression_problem(n_tasks, n_features, n_rows, seed, n_parts=2, **kwargs):
    """Train / validation (/ test) parts of one synthetic problem (same task
    coefficients in every part)."""
    X, y = make_multitask_regression(
        n_tasks=n_tasks, n_samples=n_parts * n_rows, n_features=n_features,
        random_state=seed, **kwargs,
    )
    return split_per_task(X, y, n_parts, np.random.default_rng(seed))


def best_of(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


# -- (a) MTIF vs a dense Hessian ------------------------------------------------------------
def dense_hessian(H):
    """The dense ``(K p + p)``-square matrix of an ArrowHessian's blocks."""
    K, p, b = H.n_tasks, H.d_task, H.d_shared
    dense = np.zeros((K * p + b, K * p + b))
    for k in range(K):
        sl = slice(k * p, (k + 1) * p)
        dense[sl, sl] = H.task_blocks[k]
        dense[sl, K * p:] = H.cross_blocks[k]
        dense[K * p:, sl] = H.cross_blocks[k].T
    dense[K * p:, K * p:] = H.shared_block
    return dense


def dense_scores_val_side(H, row_task, u, v):
    """``v_j^T H^{-1} u_i`` by Cholesky of the dense H and K solves (one per target)."""
    K, p = H.n_tasks, H.d_task
    factor = linalg.cho_factor(dense_hessian(H), lower=True)
    V = np.zeros((factor[0].shape[0], K))
    for j in range(K):
        V[j * p:(j + 1) * p, j] = v[j]
    X = linalg.cho_solve(factor, V)  # H^{-1} v_j, one column per target
    scores = np.empty((len(u), K))
    for k in range(K):
        rows = row_task == k
        scores[rows] = u[rows] @ X[k * p:(k + 1) * p]
    return scores


def dense_scores_row_side(H, row_task, u, v):
    """The same scores with one solve per training row (``H^{-1} u_i``), the
    route of generic influence code that has no notion of validation targets."""
    K, p = H.n_tasks, H.d_task
    factor = linalg.cho_factor(dense_hessian(H), lower=True)
    U = np.zeros((factor[0].shape[0], len(u)))
    for k in range(K):
        rows = np.flatnonzero(row_task == k)
        U[k * p:(k + 1) * p, rows] = u[rows].T
    Y = linalg.cho_solve(factor, U)
    return np.stack([v[j] @ Y[j * p:(j + 1) * p] for j in range(K)], axis=1)


def run_speed(args):
    K, d, n = args.tasks, args.features, args.rows
    (X, y), (X_val, y_val) = regression_problem(K, d, n, seed=0)
    model = MultiTaskRidge(alpha=1.0).fit(X, y)
    scores = model.influence(X_val, y_val)
    # the inputs of the algebra, taken from the model
    H = model._hessian()
    _, row_task, u, _ = model._row_perturbations(0, model._n_fit_rows)
    _, v, _ = model._val_terms(model._check_val(X_val, y_val))
    blocks = (H.task_blocks, H.cross_blocks, H.shared_block)

    def common():
        """What every route needs first: Hessian blocks, row and validation gradients."""
        model._cache = {}
        model._row_perturbations(0, model._n_fit_rows)  # computes the blocks (cached) and the row gradients
        model._val_terms(model._check_val(X_val, y_val))

    def skmtl_end_to_end():
        model._cache = {}  # recompute gradients, Hessian blocks and factorizations
        model.influence(X_val, y_val)

    def as_skmtl_runs_it(fn):
        """The parts under the BLAS thread setting that ``influence()`` uses."""
        def run():
            with blas_threads_for_blocks(H.d_task):
                fn()
        return run

    funcs = {
        "common: Hessian blocks + gradients": as_skmtl_runs_it(common),
        "arrow: factorization (ArrowHessian(...))": as_skmtl_runs_it(lambda: type(H)(*blocks)),
        "arrow: scores (ArrowHessian.influence)": as_skmtl_runs_it(lambda: H.influence(row_task, u, v)),
        "skmtl influence(), end to end": skmtl_end_to_end,
        "dense: build + Cholesky + K solves": lambda: dense_scores_val_side(H, row_task, u, v),
    }
    timings = {name: [] for name in funcs}
    for _ in range(args.repeat):  # interleaved, so every method sees the same load
        for name, fn in funcs.items():
            timings[name].append(best_of(fn, 1))
    t = {name: min(times) for name, times in timings.items()}
    t["dense: build + Cholesky + n solves"] = best_of(
        lambda: dense_scores_row_side(H, row_task, u, v), args.repeat_row_side
    )
    n_params = K * (d + 1) + d + 1
    print(f"\n(a) all instance-level influences, K={K} tasks, d={d} features, {n} rows/task "
          f"({K * n} rows x {K} tasks); dense Hessian {n_params} x {n_params} "
          f"({n_params ** 2 * 8 / 2**20:.0f} MiB); {_threads()}; min of {args.repeat} "
          "interleaved repeats")
    for name, value in t.items():
        print(f"  {name:<44}{value * 1e3:>10.1f} ms")
    common_t = t["common: Hessian blocks + gradients"]
    arrow = t["arrow: factorization (ArrowHessian(...))"] + t["arrow: scores (ArrowHessian.influence)"]
    ours = t["skmtl influence(), end to end"]
    print(f"{'speed-up, ratio of times in this run':<58}{'dense, K solves':>17}{'dense, n solves':>17}")
    for name, extra, den in (
        ("algebra only: dense / arrow (factorization + scores)", 0.0, arrow),
        ("end to end: (common + dense) / influence()", common_t, ours),
    ):
        print(f"  {name:<56}" + "".join(
            f"{(extra + t[route]) / den:>17.1f}" for route in
            ("dense: build + Cholesky + K solves", "dense: build + Cholesky + n solves")))
    reference = dense_scores_val_side(H, row_task, u, v)
    scale = np.abs(reference).max()
    print(f"max |skmtl - dense| / max |dense| = {np.abs(scores - reference).max() / scale:.2e} "
          f"(per-row dense route: "
          f"{np.abs(scores - dense_scores_row_side(H, row_task, u, v)).max() / scale:.2e})")


# -- BLAS threads vs block size -------------------------------------------------------------
def run_threads(args):
    """fit + influence with 1 and 2 BLAS threads, skmtl's small-block limit switched off,
    beside skmtl's default (one thread below ``SMALL_BLOCK_SIZE`` parameters per task)."""
    import skmtl.base

    default_limit = skmtl.base.SMALL_BLOCK_SIZE
    print(f"\nBLAS threads: fit + influence() of MultiTaskRidge, min of {args.repeat}; "
          f"{_threads()}")
    print(f"{'K':>4}{'d':>6}{'rows/task':>11}{'1 thread':>11}{'2 threads':>11}"
          f"{'skmtl default':>15}")
    for K, d, n in ((30, 100, 200), (10, 300, 600), (6, 600, 1200), (4, 1000, 2000)):
        (X, y), (X_val, y_val) = regression_problem(K, d, n, seed=0)

        def fit_and_score():
            MultiTaskRidge(alpha=1.0).fit(X, y).influence(X_val, y_val)

        times = {}
        for label, threads, limit in (("1", 1, 0), ("2", 2, 0), ("default", 2, default_limit)):
            skmtl.base.SMALL_BLOCK_SIZE = limit
            with threadpool_limits(threads, user_api="blas"):
                times[label] = best_of(fit_and_score, args.repeat)
        skmtl.base.SMALL_BLOCK_SIZE = default_limit
        print(f"{K:>4}{d:>6}{n:>11}{times['1']:>10.3f}s{times['2']:>10.3f}s{times['default']:>14.3f}s")


def _threads():
    blas = [f"{i['internal_api']} {i['version']} x{i['num_threads']}" for i in threadpool_info()
            if i["user_api"] == "blas"]
    return f"{len(os.sched_getaffinity(0))} cores usable, BLAS threads: {', '.join(blas)}"


# -- (b) large problem: time and peak memory, one subprocess per run --------------------------
def scale_worker(args):
    """Fit + influence_ + task_relatedness_ in this process; print JSON."""
    K, d, n = args.tasks, args.features, args.rows
    (X, y), (X_val, y_val) = regression_problem(K, d, n, seed=0, n_parts=2)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.trace:
        tracemalloc.start()
    times = {}
    start = time.perf_counter()
    model = MultiTaskRidge(alpha=1.0).fit(X, y, X_val=X_val, y_val=y_val)
    times["fit"] = time.perf_counter() - start
    start = time.perf_counter()
    model.influence_
    times["influence"] = time.perf_counter() - start
    start = time.perf_counter()
    model.task_relatedness_
    times["relatedness"] = time.perf_counter() - start
    out = {"times": times, "rss_before_MiB": rss_before,
           "peak_rss_MiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "shape": list(model.influence_.shape)}
    if args.trace:
        out["tracemalloc_peak_MiB"] = tracemalloc.get_traced_memory()[1] / 2**20
    print(json.dumps(out))


def _subprocess(K, d, n, trace, threads):
    cmd = [sys.executable, __file__] + ([] if threads is None else ["--threads", str(threads)])
    cmd += ["scale", "--worker", "--tasks", str(K), "--features", str(d),
           "--rows", str(n)] + (["--trace"] if trace else [])
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_scale(args):
    K, d, n = args.tasks, args.features, args.rows
    n_params = K * (d + 1) + d + 1
    print(f"\n(b) fit + influence_ + task_relatedness_, K={K}, d={d}, {n} rows/task "
          f"(+{n} validation rows/task); a dense Hessian would be {n_params} x {n_params} = "
          f"{n_params ** 2 * 8 / 2**30:.1f} GiB; {_threads()}; "
          f"one fresh subprocess per run")
    print(f"{'run':<6}{'fit [s]':>9}{'infl [s]':>10}{'rel [s]':>9}{'total [s]':>11}"
          f"{'peak RSS [MiB]':>16}{'RSS before fit':>16}{'tracemalloc peak [MiB]':>24}")
    for r in range(args.repeat):
        plain = _subprocess(K, d, n, False, args.threads)
        traced = _subprocess(K, d, n, True, args.threads)
        t = plain["times"]
        print(f"{r:<6}{t['fit']:>9.2f}{t['influence']:>10.2f}{t['relatedness']:>9.2f}"
              f"{sum(t.values()):>11.2f}{plain['peak_rss_MiB']:>16.0f}{plain['rss_before_MiB']:>16.0f}"
              f"{traced['tracemalloc_peak_MiB']:>24.0f}")
    print("time and peak RSS from the untraced run (RSS: whole process, interpreter, imports "
          "and data included); tracemalloc peak: numpy/Python allocations made by fit + "
          "influence + relatedness, from a second, traced run")


# -- (c) growth ------------------------------------------------------------------------------
def _growth_row(K, d, n, repeat, dense_limit):
    (X, y), (X_val, y_val) = regression_problem(K, d, n, seed=0)
    times = {"fit": [], "influence": [], "relatedness": []}
    for _ in range(repeat):
        start = time.perf_counter()
        model = MultiTaskRidge(alpha=1.0).fit(X, y)
        times["fit"].append(time.perf_counter() - start)
        start = time.perf_counter()
        model.influence(X_val, y_val)
        times["influence"].append(time.perf_counter() - start)
        start = time.perf_counter()
        model.task_relatedness(X_val, y_val)
        times["relatedness"].append(time.perf_counter() - start)
    row = {name: min(t) for name, t in times.items()}
    n_params = K * (d + 1) + d + 1
    if n_params <= dense_limit:
        H = model._hessian()
        _, row_task, u, _ = model._row_perturbations(0, model._n_fit_rows)
        _, v, _ = model._val_terms(model._check_val(X_val, y_val))
        row["dense"] = best_of(lambda: dense_scores_val_side(H, row_task, u, v), repeat)
    return row


def run_growth(args):
    n = args.rows
    grids = {"K": [(K, 100) for K in (10, 30, 100, 200)],
             "d": [(30, d) for d in (25, 50, 100, 200)]}
    print(f"\n(c) time growth, {n} rows/task, min of {args.repeat}; dense = build + Cholesky + "
          f"K solves (only where the dense Hessian has <= {args.dense_limit} rows)")
    for axis, grid in grids.items():
        rows = [(K, d, _growth_row(K, d, n, args.repeat, args.dense_limit)) for K, d in grid]
        print(f"{'K':>5}{'d':>5}{'fit [s]':>10}{'influence [s]':>15}{'relatedness [s]':>17}"
              f"{'dense [s]':>11}{'dense/influence':>17}")
        for K, d, r in rows:
            dense = r.get("dense")
            print(f"{K:>5}{d:>5}{r['fit']:>10.4f}{r['influence']:>15.4f}{r['relatedness']:>17.4f}"
                  + (f"{dense:>11.4f}{dense / r['influence']:>17.1f}" if dense else f"{'-':>11}{'-':>17}"))
        sizes = [K if axis == "K" else d for K, d, _ in rows]
        print(_exponents_line(axis, sizes, {name: [r[name] for *_, r in rows]
                                            for name in ("fit", "influence", "relatedness")}) + "\n")


def _exponents_line(axis, sizes, times):
    """``time ~ axis^b`` fitted by least squares on logs, for each named list of times."""
    x = np.log(sizes)
    slopes = {name: np.polyfit(x, np.log(t), 1)[0] for name, t in times.items()}
    return (f"fitted exponent in {axis} (time ~ {axis}^b, least squares on logs): "
            + ", ".join(f"{name} b={b:.2f}" for name, b in slopes.items()))


# -- task relatedness by refit-free removal (exact, Newton) as the tasks grow ----------------
def _relatedness_problem(args, K):
    rows = args.rows if args.rows is not None else args.total_rows // K
    make = make_multitask_regression if args.model == "ridge" else make_multitask_classification
    X, y = make(n_tasks=K, n_samples=rows, n_features=args.features, random_state=0)
    return X, y, rows


def run_relatedness(args):
    estimator = {"ridge": MultiTaskRidge, "logistic": MultiTaskLogistic}[args.model]
    method = args.method or {"ridge": "exact", "logistic": "newton"}[args.model]
    print(f"\ntask_relatedness(method={method!r}) of {estimator.__name__}() as the tasks grow, "
          f"d={args.features}, the training data as validation data; each call from the fitted "
          f"model with its cache cleared, min of {args.repeat}; 'mtif' (first order) and "
          f"leave-one-task-out refits (where K <= {args.refit_limit}) in the same run; {_threads()}")
    print(f"{'K':>6}{'rows/task':>10}{'rows':>9}{'fit [s]':>9}{f'{method} [s]':>12}{'mtif [s]':>10}"
          f"{f'{method}/mtif':>12}{'refits [s]':>12}{f'refits/{method}':>14}{'max gap to refits':>19}"
          f"{'rows [s]':>10}")
    sizes, times = [], []
    for K in args.tasks:
        X, y, rows = _relatedness_problem(args, K)
        start = time.perf_counter()
        model = estimator().fit(X, y)
        fit = time.perf_counter() - start
        t = {}
        for name in (method, "mtif"):
            def cold(name=name):
                model._cache = {}  # recompute Hessian blocks, gradients and factorizations
                t[f"{name} result"] = model.task_relatedness(method=name)
            t[name] = best_of(cold, args.repeat)

        def cold_rows():
            model._cache = {}
            model.influence_total(method=method)
        t["rows"] = best_of(cold_rows, args.repeat)
        cells = f"{'-':>12}{'-':>14}{'-':>19}"
        if K <= args.refit_limit:
            start = time.perf_counter()
            truth = loto_effects(estimator(), X, y)
            refits = time.perf_counter() - start
            gap = np.nanmax(np.abs(t[f"{method} result"] - truth)) / np.nanmax(np.abs(truth))
            cells = f"{refits:>12.2f}{refits / t[method]:>14.1f}{gap:>19.1e}"
        print(f"{K:>6}{rows:>10}{len(y):>9}{fit:>9.2f}{t[method]:>12.3f}{t['mtif']:>10.3f}"
              f"{t[method] / t['mtif']:>12.1f}" + cells + f"{t['rows']:>10.3f}", flush=True)
        sizes.append(K)
        times.append(t[method])
    if len(sizes) > 1:
        print("time ratio of consecutive K: " + ", ".join(
            f"{a} -> {b}: {tb / ta:.2f}" for a, b, ta, tb in zip(sizes, sizes[1:], times, times[1:])))
        print(_exponents_line("K", sizes, {method: times}))


# -- (d) accuracy against brute force ----------------------------------------------------------
def _spearman_per_target(estimate, truth):
    K = len(truth)
    return np.array([spearmanr(np.delete(estimate[:, j], j), np.delete(truth[:, j], j))[0]
                     for j in range(K)])


def _task_level(setting, seeds, alpha):
    """Per seed and target task: Spearman of MTIF relatedness vs brute-force LOTO."""
    table1, val_only, exact_err = [], [], []
    for seed in seeds:
        (X, y), (X_va, y_va), (X_te, y_te) = regression_problem(
            10, setting["n_features"], setting["rows"], seed, n_parts=3,
            h=setting["h"], epsilon=setting["epsilon"], noise=setting["noise"],
        )
        model = MultiTaskRidge(alpha=alpha).fit(X, y)
        related = model.task_relatedness(X_va, y_va)
        loto_test = loto_effects(MultiTaskRidge(alpha=alpha), X, y, X_te, y_te)
        loto_val = loto_effects(MultiTaskRidge(alpha=alpha), X, y, X_va, y_va)
        table1.append(_spearman_per_target(related, loto_test))
        val_only.append(_spearman_per_target(related, loto_val))
        exact = model.task_relatedness(X_te, y_te, method="exact")
        exact_err.append(np.abs(exact - loto_test).max() / np.abs(loto_test).max())
    return np.array(table1), np.array(val_only), max(exact_err)


def _instance_level(seeds, rows, n_features, alpha):
    """Pearson of row influence vs brute-force LOO, ridge and logistic (10 tasks)."""
    out = {"ridge mtif": [], "ridge exact (max rel. err.)": [], "logistic mtif": [],
           "logistic newton": []}
    for seed in seeds:
        (X, y), (X_va, y_va) = regression_problem(10, n_features, rows, seed)
        model = MultiTaskRidge(alpha=alpha).fit(X, y)
        truth = loo_effects(MultiTaskRidge(alpha=alpha), X, y, X_va, y_va)
        out["ridge mtif"].append(pearsonr(model.influence(X_va, y_va).ravel(), truth.ravel())[0])
        exact = model.influence(X_va, y_va, method="exact")
        out["ridge exact (max rel. err.)"].append(np.abs(exact - truth).max() / np.abs(truth).max())

        Xc, yc = make_multitask_classification(
            n_tasks=10, n_samples=2 * rows, n_features=n_features, random_state=seed)
        (X, y), (X_va, y_va) = split_per_task(Xc, yc, 2, np.random.default_rng(seed))
        model = MultiTaskLogistic(alpha=alpha).fit(X, y)
        truth = loo_effects(MultiTaskLogistic(alpha=alpha), X, y, X_va, y_va)
        out["logistic mtif"].append(pearsonr(model.influence(X_va, y_va).ravel(), truth.ravel())[0])
        newton = model.influence(X_va, y_va, method="newton")
        out["logistic newton"].append(pearsonr(newton.ravel(), truth.ravel())[0])
    return out


def run_accuracy(args):
    seeds = range(args.seeds)
    main = {"rows": args.rows, "n_features": args.features, "h": args.h,
            "epsilon": args.epsilon, "noise": args.noise}
    table1, val_only, exact_err = _task_level(main, seeds, args.alpha)
    print(f"\n(d) Table 1: Spearman(task-level MTIF on validation, brute-force LOTO on test) over "
          f"the 9 source tasks of each target; 10 tasks, {args.rows}/{args.rows}/{args.rows} "
          f"train/val/test rows per task, d={args.features}, h={args.h}, "
          f"epsilon={args.epsilon}, noise={args.noise}, alpha={args.alpha}, "
          f"{args.seeds} seeds (mean +- std over seeds)")
    print(f"{'target task':<22}" + "".join(f"{j + 1:>12}" for j in range(10)) + f"{'mean':>12}")
    paper = [m for m, _ in PAPER_TABLE1]
    print(f"{'paper':<22}" + "".join(f"{m:>7.2f}+-{s:.2f}" for m, s in PAPER_TABLE1)
          + f"{np.mean(paper):>12.2f}")
    for name, rho in (("skmtl (LOTO on test)", table1), ("skmtl (LOTO on val)", val_only)):
        print(f"{name:<22}" + "".join(f"{m:>7.2f}+-{s:.2f}" for m, s in zip(rho.mean(0), rho.std(0)))
              + f"{rho.mean():>12.2f}")
    print("(task numbers are positions, not the paper's tasks: each seed draws new tasks)")
    print(f"task_relatedness(method='exact') vs brute-force LOTO: max relative error {exact_err:.1e}")

    print(f"\nsensitivity, {args.sensitivity_seeds} seeds per setting "
          f"(mean Spearman over targets and seeds):")
    print(f"{'h':>6}{'epsilon':>9}{'rows':>6}{'d':>5}{'LOTO on test':>14}{'LOTO on val':>13}")
    for h, eps, rows, d in ((0.5, 0.2, args.rows, args.features), (2.0, 0.2, args.rows, args.features),
                            (1.0, 0.0, args.rows, args.features), (1.0, 0.4, args.rows, args.features),
                            (1.0, 0.2, 40, 8), (1.0, 0.2, 300, args.features)):
        setting = {**main, "h": h, "epsilon": eps, "rows": rows, "n_features": d}
        t1, vo, _ = _task_level(setting, range(args.sensitivity_seeds), args.alpha)
        print(f"{h:>6}{eps:>9}{rows:>6}{d:>5}{t1.mean():>14.2f}{vo.mean():>13.2f}")

    inst = _instance_level(seeds, args.loo_rows, args.loo_features, args.alpha)
    print(f"\ninstance level vs brute-force LOO (refit without each row), 10 tasks, "
          f"{args.loo_rows} train + {args.loo_rows} validation rows per task, "
          f"d={args.loo_features}, alpha={args.alpha}, {args.seeds} seeds; Pearson over all "
          "(row, target task) pairs")
    for name, values in inst.items():
        values = np.asarray(values)
        if "rel. err." in name:
            print(f"{name:<30} max over seeds {values.max():.1e}")
        else:
            print(f"{name:<30} mean {values.mean():.4f}  min {values.min():.4f}")
    _har_task_level()


def _har_task_level():
    """Logistic task relatedness on HAR against leave-one-task-out refits."""
    from sklearn.preprocessing import StandardScaler

    from skmtl.compose import make_feature_transformer
    from skmtl.datasets import load_har
    from skmtl.model_selection import task_train_test_split

    X, y = load_har(return_X_y=True)
    X = make_feature_transformer(StandardScaler()).fit_transform(X)
    X, X_val, y, y_val = task_train_test_split(X, y, test_size=0.2, random_state=0)
    model = MultiTaskLogistic().fit(X, y)
    truth = loto_effects(MultiTaskLogistic(), X, y, X_val, y_val)
    pairs = ~np.eye(len(truth), dtype=bool)
    print("\nHAR, MultiTaskLogistic, 30 volunteers: task relatedness vs leave-one-task-out, "
          "over the 870 source/target pairs")
    for method in ("mtif", "newton"):
        estimate = model.task_relatedness(X_val, y_val, method=method)[pairs]
        agree = np.mean(np.sign(estimate) == np.sign(truth[pairs]))
        print(f"{method:<8} signs agree {agree:.1%}  Spearman {spearmanr(estimate, truth[pairs])[0]:.3f}  "
              f"Pearson {pearsonr(estimate, truth[pairs])[0]:.3f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=None,
                        help="limit BLAS threads (threadpoolctl); default: the library's own")
    sub = parser.add_subparsers(dest="part", required=True)
    speed = sub.add_parser("speed", help="(a) MTIF vs a dense-Hessian solve")
    speed.add_argument("--tasks", type=int, default=30)
    speed.add_argument("--features", type=int, default=100)
    speed.add_argument("--rows", type=int, default=200)
    speed.add_argument("--repeat", type=int, default=7)
    speed.add_argument("--repeat-row-side", type=int, default=2)
    scale = sub.add_parser("scale", help="(b) time and peak memory of a large problem")
    scale.add_argument("--tasks", type=int, default=200)
    scale.add_argument("--features", type=int, default=200)
    scale.add_argument("--rows", type=int, default=100)
    scale.add_argument("--repeat", type=int, default=2)
    scale.add_argument("--trace", action="store_true")
    # one measured run in a fresh process (what run_scale starts), not for the command line
    scale.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    growth = sub.add_parser("growth", help="(c) time growth in K and d")
    growth.add_argument("--rows", type=int, default=200)
    growth.add_argument("--repeat", type=int, default=3)
    growth.add_argument("--dense-limit", type=int, default=11000)
    acc = sub.add_parser("accuracy", help="(d) Table 1 and agreement with brute force")
    acc.add_argument("--seeds", type=int, default=10)
    acc.add_argument("--sensitivity-seeds", type=int, default=5)
    acc.add_argument("--rows", type=int, default=100, help="rows per task in each of train/val/test")
    acc.add_argument("--features", type=int, default=10)
    acc.add_argument("--h", type=float, default=1.0)
    acc.add_argument("--epsilon", type=float, default=0.2)
    acc.add_argument("--noise", type=float, default=1.0)
    acc.add_argument("--alpha", type=float, default=1.0)
    acc.add_argument("--loo-rows", type=int, default=40)
    acc.add_argument("--loo-features", type=int, default=8)
    threads = sub.add_parser("threads", help="BLAS threads vs block size")
    threads.add_argument("--repeat", type=int, default=3)
    rel = sub.add_parser("relatedness", help="exact / Newton task relatedness as the tasks grow")
    rel.add_argument("--model", choices=["ridge", "logistic"], default="ridge")
    rel.add_argument("--method", choices=["exact", "newton"], default=None,
                     help="default: exact for ridge, newton for logistic")
    rel.add_argument("--tasks", type=int, nargs="+", default=[100, 200, 400])
    per_task = rel.add_mutually_exclusive_group()
    per_task.add_argument("--rows", type=int, default=None, help="rows per task")
    per_task.add_argument("--total-rows", type=int, default=8000,
                          help="rows in all, shared evenly among the tasks (unless --rows)")
    rel.add_argument("--features", type=int, default=10)
    rel.add_argument("--repeat", type=int, default=3)
    rel.add_argument("--refit-limit", type=int, default=100,
                     help="leave-one-task-out refits where K is at most this")
    sub.add_parser("all", help="(a) to (d) and threads, with their defaults")
    args = parser.parse_args(argv)
    if args.part == "all":
        threads = [] if args.threads is None else ["--threads", str(args.threads)]
        for part in ("speed", "threads", "scale", "growth", "accuracy"):
            main(threads + [part])
        return
    with threadpool_limits(args.threads):
        run_scale_part = scale_worker if getattr(args, "worker", False) else run_scale
        {"speed": run_speed, "scale": run_scale_part, "growth": run_growth,
         "accuracy": run_accuracy, "threads": run_threads, "relatedness": run_relatedness}[args.part](args)


if __name__ == "__main__":
    main()
