"""Thousands of tasks on one machine: time and peak memory of streamed influence (issue 16).

Parts (``all`` runs the first three)::

    python benchmarks/bench_scale.py targets     # the two targets of issue 16, item 2
    python benchmarks/bench_scale.py stream      # the full n x K scores through a reduce_func, 1M rows
    python benchmarks/bench_scale.py growth      # time and memory as K, d and n double
    python benchmarks/bench_scale.py dask        # 1 vs 2 workers: LOO refits and the Dask fit
    python benchmarks/bench_scale.py network     # SharedBottomNet: the n x K scores streamed, n doubling
    python benchmarks/bench_scale.py results     # whole, streamed and summed scores: their memory and time
    python benchmarks/bench_scale.py selector    # MTIFSelector's default as n, then K, doubles

``selector`` times ``MTIFSelector(MultiTaskLogistic(), random_state=0).fit``
(the default without clean labels: the noise model cross-fitted on 5 folds,
its EM steps, the held-out removal test) on labels ``x . w_task + logistic
noise > 0`` with 20 % of them flipped, ``d = 20``, as ``n`` doubles from
5,000 (``K = 10``) and as ``K`` doubles at ``n = 20,000``; beside it, in the
same process, one fit of the model and out-of-fold confidence (its
``predict_proba`` over 5 task-stratified folds, the detector a user would try
first), mean ± std over ``--repeat`` runs.

Every measured case runs in a fresh subprocess, so its peak resident set size
(``ru_maxrss``) belongs to it alone: the data, Python and numpy included.
Data: ``n`` rows of ``d`` standard normal features, ``K`` tasks of ``n / K``
rows each in random order, ``y = x . w_task + noise``; ``MultiTaskRidge``
with its defaults.

The memory formula of the streamed route (``p = d + 1``, 8 bytes a number):
Python and its libraries + the larger of (a) the validation of ``X``, which
holds ``X`` and, on the way, two copies of its features (``3 n p``), and (b)
the model: ``X`` + the design matrix the fit keeps (``2 n p``) + three ``(K,
p, p)`` arrays (the task blocks, their inverses and the coupling ``H_kk^-1
H_kb``) + one block of scores (``working_memory``: 1024 MiB by default in
scikit-learn, 64 MiB in these runs). ``formula`` in the tables is that sum;
``peak`` is measured.

Steps (cumulative in one process):

* ``fit``: ``MultiTaskRidge().fit(X, y)``;
* ``totals``: ``influence_total()``, every row's total influence on all
  tasks (one solve for the summed validation gradient);
* ``relatedness``: ``task_relatedness()``, ``K x K``;
* ``top/harm``: the 100 most harmful rows (lowest totals,
  ``np.argpartition``) and per-task harm (the summed negative totals of each
  task's rows, ``np.bincount``): from the totals, no more passes;
* ``stream``: ``influence_chunked(reduce_func=...)`` over all ``n x K``
  scores, keeping per row its most harmed task and per task its summed
  harm, so no ``n x K`` array is ever held.

``results`` compares, each in a fresh process after ``fit`` (``K = 500``,
``d = 20``, ``n = 100,000``, a 381 MiB ``n x K`` result), the peak memory
above the fitted state (reset through ``/proc/self/clear_refs``) and the time
of ``influence()`` (the whole array), ``influence_chunked(working_memory=64)``
(blocks of 64 MiB, each reduced to its rows' smallest score) and
``influence_total()``.

``network`` streams a ``SharedBottomNet`` (one hidden layer of 16 units,
one epoch in batches of 1,000 rows, on the CPU with one torch thread, ``d =
20``, ``K = 1,000``) at 250,000,
500,000 and 1,000,000 rows with scikit-learn's default ``working_memory``
(1024 MiB): ``influence_total()`` (one solve per member for the summed
validation gradient, then one pass over the rows), and
``influence_chunked(reduce_func=...)`` keeping each row's total and each
task's smallest score. Its peaks are measured per step (the peak resident
set size is reset before each, ``/proc/self/clear_refs``), against the
formula Python and its libraries + the data (``X``, ``y``, the fit's copy
of the rows and their device copy: ``n (20 d + 88)`` bytes) + the influence
model of each member (task blocks and their inverses, ``K d_t (d_t + p)``
twice, ``d_t`` the head's and ``p`` the projected bottom's parameters; the
shared blocks ``3 p^2``; per-task gradients and operators, ``4 K (d_t +
p)``) + ``working_memory``, which a block of scores and the caller's
temporary share.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import sklearn

MIB = 2**20


def _peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_data(K, d, n, seed=0):
    """``X`` with the task label in its last column, and ``y``; built in place."""
    rng = np.random.default_rng(seed)
    X = np.empty((n, d + 1))
    X[:, d] = rng.permutation(np.arange(n) % K)
    W = 1.0 + 0.3 * rng.standard_normal((K, d))
    y = rng.standard_normal(n)
    for rows in sklearn.utils.gen_batches(n, 100_000):  # no temporary as large as X
        X[rows, :d] = rng.standard_normal((rows.stop - rows.start, d))
        y[rows] += np.einsum("nd,nd->n", X[rows, :d], W[X[rows, d].astype(int)])
    return X, y


def worker(args):
    """One case in this process; prints a JSON line of step times and peak memory."""
    from skmtl import MultiTaskRidge  # imported before the baseline is read

    K, d, n = args.tasks, args.features, args.rows
    out = {"K": K, "d": d, "n": n, "python_MiB": _peak_mib()}
    X, y = make_data(K, d, n)
    out["data_MiB"] = _peak_mib()
    steps = args.steps.split(",")
    with sklearn.config_context(working_memory=args.working_memory):
        start = time.perf_counter()
        model = MultiTaskRidge().fit(X, y)
        out["fit_s"] = time.perf_counter() - start
        out["fit_peak_MiB"] = _peak_mib()
        if "totals" in steps:
            t = time.perf_counter()
            total = model.influence_total()
            out["totals_s"] = time.perf_counter() - t
        if "relatedness" in steps:
            t = time.perf_counter()
            model.task_relatedness()
            out["relatedness_s"] = time.perf_counter() - t
        if "top" in steps:
            t = time.perf_counter()
            worst = np.argpartition(total, 100)[:100]
            worst = worst[np.argsort(total[worst])]
            row_task = np.searchsorted(model.tasks_, X[:, -1])
            harm = np.bincount(row_task, weights=np.minimum(total, 0.0), minlength=K)
            out["top_s"] = time.perf_counter() - t
            assert len(worst) == 100 and harm.shape == (K,)
        if "stream" in steps:
            t = time.perf_counter()
            harm_on = np.zeros(K)
            worst_task = np.empty(n, dtype=np.intp)

            def reduce(block, start):
                harm_on[:] += np.minimum(block, 0.0).sum(axis=0)
                worst_task[start:start + len(block)] = block.argmin(axis=1)
                return len(block)

            assert sum(model.influence_chunked(reduce_func=reduce)) == n
            out["stream_s"] = time.perf_counter() - t
        calls = {"influence": model.influence, "influence_total": model.influence_total,
                 "influence_chunked": lambda: np.concatenate(list(model.influence_chunked(
                     reduce_func=lambda block, start: block.min(axis=1))))}
        for name in set(calls) & set(steps):  # the call's own peak above the fitted state
            _reset_peak()
            before = _rss_mib("VmRSS")
            t = time.perf_counter()
            result = calls[name]()
            out[f"{name}_s"] = time.perf_counter() - t
            out[f"{name}_MiB"] = _rss_mib("VmHWM") - before
            assert result.shape[0] == n
            del result
        out["total_s"] = time.perf_counter() - start
    out["peak_MiB"] = _peak_mib()
    print(json.dumps(out))


def selector_worker(args):
    """One selector case in this process; prints a JSON line of its time and peak memory."""
    import warnings

    from sklearn.model_selection import cross_val_predict

    from skmtl import MultiTaskLogistic
    from skmtl.model_selection import TaskStratifiedKFold
    from skmtl.selection import MTIFSelector

    K, d, n = args.tasks, args.features, args.rows
    out = {"K": K, "d": d, "n": n, "python_MiB": _peak_mib()}
    X, score = make_data(K, d, n)
    rng = np.random.default_rng(1)
    y = (score + rng.logistic(size=n) > 0).astype(int)
    flipped = rng.random(n) < 0.2
    y[flipped] = 1 - y[flipped]
    # the baselines a user would try first: one fit, and out-of-fold confidence (5 folds)
    start = time.perf_counter()
    MultiTaskLogistic().fit(X, y)
    out["one_fit_s"] = time.perf_counter() - start
    start = time.perf_counter()
    folds = TaskStratifiedKFold(5, shuffle=True, random_state=0)
    cross_val_predict(MultiTaskLogistic(), X, y, cv=folds, method="predict_proba")
    out["out_of_fold_s"] = time.perf_counter() - start
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its keep-every-row reasons
        selector = MTIFSelector(MultiTaskLogistic(), random_state=0).fit(X, y)
    out["fit_s"] = time.perf_counter() - start
    out["removed"] = selector.removal_ratio_
    out["peak_MiB"] = _peak_mib()
    print(json.dumps(out))


def run_selector(args):
    """MTIFSelector's default as n doubles (K = 10), then K (n = 20,000)."""
    cases = ([(10, 20, n) for n in (5_000, 10_000, 20_000, 40_000)]
             + [(K, 20, 20_000) for K in (20, 40)])
    print("| shape | selector s | one fit s | out-of-fold confidence s | selector / out-of-fold "
          "| share removed | peak MiB |\n" + "|---" * 7 + "|")
    means = []
    for K, d, n in cases:
        runs = [run_case(K, d, n, [], model="selector") for _ in range(args.repeat)]
        times = {key: np.array([r[key] for r in runs]) for key in ("fit_s", "one_fit_s",
                                                                    "out_of_fold_s")}
        means.append(times["fit_s"].mean())
        cells = " | ".join(f"{t.mean():.2f} ± {t.std():.2f}" for t in times.values())
        ratio = times["fit_s"] / times["out_of_fold_s"]
        print(f"| K={K}, d={d}, n={n:,} | {cells} | {ratio.mean():.1f} ± {ratio.std():.1f} "
              f"| {runs[0]['removed']:.3f} | {max(r['peak_MiB'] for r in runs):.0f} |", flush=True)
    print("\n| doubled | selector time ratio (means) |\n|---|---|")
    for (name, a, b) in (("n, 5,000 -> 10,000", 0, 1), ("n, 10,000 -> 20,000", 1, 2),
                         ("n, 20,000 -> 40,000", 2, 3), ("K, 10 -> 20", 2, 4), ("K, 20 -> 40", 4, 5)):
        print(f"| {name} | {means[b] / means[a]:.2f} |")


def _reset_peak():
    """Reset the peak resident set size of this process (Linux)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _rss_mib(field):
    """``VmRSS`` (now) or ``VmHWM`` (peak since the last reset) of this process, in MiB."""
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith(field + ":"))
    return int(line.split()[1]) / 1024


NET = dict(hidden_layer_sizes=(16,), max_epochs=1, batch_size=1000, device="cpu", random_state=0,
           batch_sampling="uniform")  # RESULTS.md's figures predate batch_sampling="auto"


def net_worker(args):
    """One SharedBottomNet case in this process; prints a JSON line."""
    import warnings

    import torch

    import skmtl
    from skmtl.network import SharedBottomNet

    # on a machine shared with other jobs, two OpenMP threads on the small per-task
    # products wait on each other (up to 90 times slower); one thread does not
    torch.set_num_threads(1)

    K, d, n = args.tasks, args.features, args.rows
    out = {"K": K, "d": d, "n": n, "python_MiB": _rss_mib("VmRSS")}
    X, y = make_data(K, d, n)
    model = SharedBottomNet(**NET)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one epoch: not converged, and not meant to be
        model.fit(X, y)
    out["fit_s"] = time.perf_counter() - start
    out["fit_peak_MiB"] = _rss_mib("VmHWM")
    out["after_fit_MiB"] = _rss_mib("VmRSS")
    _reset_peak()
    t = time.perf_counter()
    total = model.influence_total()  # factorizes each member first
    out["totals_s"] = time.perf_counter() - t
    out["totals_peak_MiB"] = _rss_mib("VmHWM")
    if n * K * 8 > skmtl.get_config()["max_result_memory"] * MIB:
        try:
            model.influence()
        except MemoryError as error:  # the whole matrix: refused before it is allocated
            out["influence_refused"] = str(error)
    _reset_peak()
    t = time.perf_counter()
    row_total = np.empty(n)
    task_min = np.full(K, np.inf)

    def reduce(block, start):
        row_total[start:start + len(block)] = block.sum(axis=1)
        np.minimum(task_min, block.min(axis=0), out=task_min)
        return len(block)

    out["blocks"] = len(list(model.influence_chunked(reduce_func=reduce)))
    out["stream_s"] = time.perf_counter() - t
    out["stream_peak_MiB"] = _rss_mib("VmHWM")
    out["totals_gap"] = float(np.abs(row_total - total).max() / np.abs(total).max())
    hessian = model._member(0).hessian
    out["d_t"], out["p"] = hessian.d_task, hessian.d_shared
    out["n_models"] = len(model.models_)
    print(json.dumps(out))


def net_formula_mib(r, working_memory=1024):
    """Python + data + each member's influence model + ``working_memory``, in MiB
    (see the module's docstring)."""
    n, K, d, d_t, p = r["n"], r["K"], r["d"], r["d_t"], r["p"]
    data = n * (20 * d + 88)
    model = 8 * r["n_models"] * (2 * K * d_t * (d_t + p) + 3 * p * p + 4 * K * (d_t + p))
    return r["python_MiB"] + (data + model) / MIB + working_memory


def run_network(args):
    """SharedBottomNet: fit, per-row totals and the streamed n x K scores as n doubles."""
    print("| rows | fit s | fit peak GiB | totals s | totals peak GiB | stream s | blocks "
          "| stream peak GiB | formula GiB | n x K scores GiB |\n" + "|---" * 10 + "|")
    results = []
    for n in (250_000, 500_000, 1_000_000):
        r = run_case(1000, 20, n, [], model="network")
        results.append(r)
        print(f"| {n:,} | {r['fit_s']:.1f} | {r['fit_peak_MiB'] / 1024:.2f} | {r['totals_s']:.1f} "
              f"| {r['totals_peak_MiB'] / 1024:.2f} | {r['stream_s']:.1f} | {r['blocks']} "
              f"| {r['stream_peak_MiB'] / 1024:.2f} | {net_formula_mib(r) / 1024:.2f} "
              f"| {n * r['K'] * 8 / 2**30:.2f} |", flush=True)
    print("\n| rows doubled | fit time ratio | streaming time ratio | stream peak ratio "
          "(above Python) |\n|---|---|---|---|")
    for a, b in zip(results, results[1:]):
        peak = (b["stream_peak_MiB"] - b["python_MiB"]) / (a["stream_peak_MiB"] - a["python_MiB"])
        print(f"| {a['n']:,} -> {b['n']:,} | {b['fit_s'] / a['fit_s']:.2f} "
              f"| {b['stream_s'] / a['stream_s']:.2f} | {peak:.2f} |")
    last = results[-1]
    print(f"\nStreamed row totals against influence_total: largest gap {last['totals_gap']:.1e} "
          f"(relative). influence() at {last['n']:,} rows: {last.get('influence_refused', 'allowed')}")


def run_case(K, d, n, steps, working_memory=64, model="ridge"):
    cmd = [sys.executable, os.path.abspath(__file__), "worker", "--model", model, "--tasks", str(K),
           "--features", str(d), "--rows", str(n), "--steps", ",".join(steps),
           "--working-memory", str(working_memory)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def formula_mib(r, working_memory=64):
    """Python + the larger of the validation (X and two copies of the features on
    the way: 3 n p numbers) and the model (X and the fit's design matrix, 2 n p,
    + three (K, p, p) arrays: the task blocks, their inverses, the coupling, and
    one block of working memory), in MiB."""
    n, K, p = r["n"], r["K"], r["d"] + 1
    model = (2 * n * p + 3 * K * p * p) * 8 / MIB + working_memory
    return r["python_MiB"] + max(3 * n * p * 8 / MIB, model)


def _row(r, target_s=None, target_gib=None):
    steps = [f"{r[k]:.1f}" if k in r else "" for k in ("fit_s", "totals_s", "relatedness_s",
                                                        "top_s", "stream_s")]
    verdict = ""
    if target_s is not None:
        ok = r["total_s"] < target_s and r["peak_MiB"] < target_gib * 1024
        verdict = f"{'met' if ok else 'MISSED'} (< {target_s:g} s, < {target_gib:g} GiB)"
    return (f"| K={r['K']:,}, d={r['d']}, n={r['n']:,} | " + " | ".join(steps)
            + f" | {r['total_s']:.1f} | {r['peak_MiB'] / 1024:.2f} | {r['data_MiB'] / 1024:.2f}"
            f" | {formula_mib(r) / 1024:.2f} | {verdict} |")


HEADER = ("| shape | fit s | totals s | relatedness s | top/harm s | stream s | total s "
          "| peak GiB | after data GiB | formula GiB | target |\n" + "|---" * 11 + "|")


def run_targets(args):
    print(HEADER)
    print(_row(run_case(1000, 100, 100_000, ["totals", "relatedness"]), 60, 1.5), flush=True)
    print(_row(run_case(10_000, 50, 1_000_000, ["totals", "top"]), 120, 2), flush=True)


def run_stream(args):
    print(HEADER)
    print(_row(run_case(10_000, 50, 1_000_000, ["totals", "top", "stream"]), 900, 2), flush=True)


def run_growth(args):
    """Double K, d and n in turn from a base case; fit + totals + relatedness."""
    base = dict(K=1000, d=50, n=200_000)
    print(HEADER)
    results = {}
    for name in ("base", "K", "d", "n"):
        shape = dict(base)
        if name != "base":
            shape[name] *= 2
        runs = [run_case(shape["K"], shape["d"], shape["n"], ["totals", "relatedness"])
                for _ in range(args.repeat)]
        results[name] = min(runs, key=lambda r: r["total_s"])
        print(_row(results[name]), flush=True)
    print("\n| doubled | time ratio | peak memory ratio (above Python) | formula ratio |\n"
          "|---|---|---|---|")
    base = results["base"]
    for name in ("K", "d", "n"):
        r = results[name]
        t = r["total_s"] / base["total_s"]
        m = (r["peak_MiB"] - r["python_MiB"]) / (base["peak_MiB"] - base["python_MiB"])
        f = (formula_mib(r) - r["python_MiB"]) / (formula_mib(base) - base["python_MiB"])
        print(f"| {name} | {t:.2f} | {m:.2f} | {f:.2f} |")


def run_results(args):
    """The whole n x K influence, its stream and the row totals: memory and time."""
    K, d, n = 500, 20, 100_000
    print(f"MultiTaskRidge, K={K}, d={d}, n={n:,}: the n x K scores are {n * K * 8 / MIB:.0f} MiB\n")
    print("| call | seconds | peak above the fitted model, MiB |\n|---|---|---|")
    for name, label in (("influence", "influence()"),
                        ("influence_chunked", "influence_chunked(working_memory=64)"),
                        ("influence_total", "influence_total()")):
        runs = [run_case(K, d, n, [name]) for _ in range(args.repeat)]
        r = min(runs, key=lambda r: r[f"{name}_s"])
        print(f"| `{label}` | {r[f'{name}_s']:.2f} | {r[f'{name}_MiB']:.1f} |", flush=True)


def run_dask(args):
    """1 vs 2 Dask worker processes: brute-force refits through joblib, and the Dask fit."""
    import dask.dataframe as dd
    import pandas as pd
    from distributed import Client, LocalCluster
    from joblib import parallel_config

    from skmtl import MultiTaskRidge
    from skmtl.inspection import loo_effects

    X_refit, y_refit = make_data(100, 20, 20_000)
    K, d, n = 2000, 50, 400_000
    X, y = make_data(K, d, n)
    order = np.argsort(X[:, -1], kind="stable")  # partitions of whole tasks
    frame = pd.DataFrame(X[order]).assign(y=y[order])
    frame.columns = [str(c) for c in frame.columns]
    t = time.perf_counter()
    reference = MultiTaskRidge().fit(X, y)
    in_memory = time.perf_counter() - t
    rows = np.arange(0, 20_000, 500)
    t = time.perf_counter()
    loo_effects(MultiTaskRidge(), X_refit, y_refit, rows=rows)
    sequential = time.perf_counter() - t
    print(f"{len(rows)} LOO refits (K=100, d=20, 20,000 rows) in this process: {sequential:.1f} s; "
          f"fit in memory (K={K:,}, d={d}, {n:,} rows): {in_memory:.1f} s\n")
    print("| Dask workers | LOO refits s | Dask fit s | max coef difference to in memory |\n"
          "|---|---|---|---|")
    for n_workers in (1, 2):
        with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster):
            parts = dd.from_pandas(frame, npartitions=16).persist()  # on the workers already
            X_parts = parts[[str(c) for c in range(d + 1)]]
            with parallel_config(backend="dask"):
                t = time.perf_counter()
                loo_effects(MultiTaskRidge(), X_refit, y_refit, rows=rows)
                refits = time.perf_counter() - t
            t = time.perf_counter()
            model = MultiTaskRidge().fit(X_parts, parts["y"])
            fit = time.perf_counter() - t
        gap = np.abs(model.coef_ - reference.coef_).max()
        print(f"| {n_workers} | {refits:.1f} | {fit:.1f} | {gap:.1e} |", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="part", required=True)
    for name in ("targets", "stream", "growth", "dask", "network", "results", "selector", "all"):
        part = sub.add_parser(name)
        part.add_argument("--repeat", type=int, default=2,
                          help="growth, results: runs per case, the fastest kept (the machine is shared)")
    w = sub.add_parser("worker")  # one measured case, started by the parts above
    w.add_argument("--model", choices=["ridge", "network", "selector"], default="ridge")
    w.add_argument("--tasks", type=int)
    w.add_argument("--features", type=int)
    w.add_argument("--rows", type=int)
    w.add_argument("--steps", default="totals")
    w.add_argument("--working-memory", type=float, default=64)
    args = parser.parse_args(argv)
    parts = {"worker": worker, "targets": run_targets, "stream": run_stream,
             "growth": run_growth, "dask": run_dask, "network": run_network, "results": run_results,
             "selector": run_selector}
    if args.part == "worker" and args.model != "ridge":
        parts["worker"] = net_worker if args.model == "network" else selector_worker
    if args.part == "all":
        for name in ("targets", "growth", "stream"):
            print(f"\n## {name}\n")
            parts[name](args)
    else:
        parts[args.part](args)


if __name__ == "__main__":
    main()
