"""Thousands of tasks on one machine: time and peak memory of streamed influence (issue 16).

Parts (``all`` runs the first three)::

    python benchmarks/bench_scale.py targets     # the two targets of issue 16, item 2
    python benchmarks/bench_scale.py stream      # the full n x K scores through a reduce_func, 1M rows
    python benchmarks/bench_scale.py growth      # time and memory as K, d and n double
    python benchmarks/bench_scale.py dask        # 1 vs 2 workers: LOO refits and the Dask fit

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
        out["total_s"] = time.perf_counter() - start
    out["peak_MiB"] = _peak_mib()
    print(json.dumps(out))


def run_case(K, d, n, steps, working_memory=64):
    cmd = [sys.executable, os.path.abspath(__file__), "worker", "--tasks", str(K),
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
    for name in ("targets", "stream", "growth", "dask", "all"):
        part = sub.add_parser(name)
        part.add_argument("--repeat", type=int, default=2,
                          help="growth: runs per shape, the fastest kept (the machine is shared)")
    w = sub.add_parser("worker")  # one measured case, started by the parts above
    w.add_argument("--tasks", type=int)
    w.add_argument("--features", type=int)
    w.add_argument("--rows", type=int)
    w.add_argument("--steps", default="totals")
    w.add_argument("--working-memory", type=float, default=64)
    args = parser.parse_args(argv)
    parts = {"worker": worker, "targets": run_targets, "stream": run_stream,
             "growth": run_growth, "dask": run_dask}
    if args.part == "all":
        for name in ("targets", "growth", "stream"):
            print(f"\n## {name}\n")
            parts[name](args)
    else:
        parts[args.part](args)


if __name__ == "__main__":
    main()
