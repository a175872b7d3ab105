"""SharedBottomNet influence: throughput and peak GPU memory vs TRAK (traker) and
dattri, and the linear datamodeling score (LDS) of skmtl vs TRAK.

Run (GPU):   python benchmarks/bench_network.py
Quick check: python benchmarks/bench_network.py --rows 2000 --width 64 --subsets 8
CPU:         OMP_NUM_THREADS=2 python benchmarks/bench_network.py --rows 200 --trak-batch 64 --part throughput
Arrow factorization alone: python benchmarks/bench_network.py --part factorization

``--device auto`` (default) runs on CUDA when torch sees a GPU, else on the CPU;
``--device cpu`` or ``cuda`` forces one.

Part 1 (throughput): a shared-bottom MLP 784-1024-512 with 10 two-class heads
(1.34M parameters) trained one epoch on 50,000 synthetic rows; per-row
gradients projected to 2048 dimensions by each library, in one run:
* skmtl featurize: per-row loss gradients (heads exact, bottom projected by
  the Kronecker-factored projection), the quantity TRAK featurizes;
* skmtl influence: the whole ``influence()`` call (two passes over the rows,
  Gauss-Newton blocks, arrow solve, all n x K scores, against the validation
  rows ``X[:2000]``);
* the arrow factorization alone (``ArrowHessian`` on the fitted model's
  blocks): numpy float64 on the host, the route before 2026-11-28, and torch
  float64 on the model's device, the route ``influence()`` takes now;
* traker 0.3.2 end to end at the same projection dimension: ``featurize``
  (its default projector: fast_jl's CUDA kernel if installed, else its
  fallback) of the training rows, ``finalize_features``, then
  ``start_scoring_checkpoint``, ``score`` and ``finalize_scores`` on the same
  validation rows; its ``featurize`` alone is reported too;
* dattri's TRAKAttributor ``cache``.
Rows per second (training rows / wall time) and peak GPU memory
(torch.cuda.max_memory_allocated during the call, minus what was allocated
when it started; skmtl's cache is freed before traker and dattri run). The ratios printed last compare skmtl's
``influence()`` with traker end to end and with traker's featurize alone.

Part 1b (``--part factorization``): the arrow factorization alone on random
SPD blocks of the throughput model's shapes (10 heads of ``width // 2 + 1``
parameters, the shared block of its projected bottom: 2032 for the
defaults), numpy on the host vs torch on the device; min of ``--repeat`` runs.

Part 2 (LDS): five two-class tasks, 400 rows each, a (64,) bottom, an
ensemble of 3 models. Retrain on random 50% subsets (same seeds) and compare,
per task, the actual validation loss with the loss predicted by skmtl's
influence (sum over the removed rows) and by TRAK's scores on the same
models (sum over the kept rows of the task's validation margins); LDS is the
Spearman correlation over subsets, averaged over tasks.

Part 3 (``--part lds-study``, issue 18): the LDS on one ``--setting``
(regression, classification, har; see :func:`study_setting`) for skmtl at
``--models`` ensemble sizes and ``--dampings`` values of
``influence_damping``, kronfluence's EK-FAC and TRAK on the same member
networks (each skipped when not installed), with the time of each method,
the bootstrap spread over subsets and a noise ceiling; ``--save`` keeps the
refits and ``--truth`` reuses them. The refits start from scratch (the same
seeds), or with ``--refit-from trained`` continue from the full fit's members
(``warm_start``, the proximal response that influence approximates, Bae et
al. 2022), for ``--refit-epochs``; the relative distance of their weights
from the full fit's is printed; ``--weight-decay`` replaces the setting's.

Part 5 (``--part loo``): first-order influence against leave-one-out refits
warm-started from the fit (every sixth training row), on small networks
trained full batch to a tight optimum (L-BFGS, float64, the user guide's
setting for influence), by activation, ``weight_decay`` and
``influence_damping``: Pearson over the rows and tasks, mean ± std and range
over ``--seeds`` data sets, for regression and classification, and the
largest share of the initial gradient norm left at the fit (influence warns
above 1 % after L-BFGS).

Part 4 (``--part gradtae``): Grad-TAE's subset losses
(``task_subset_losses(method="gradient")``) against real subset refits, per
task rank agreement and times, with refits under another seed as a noise
ceiling.
"""

import argparse
import copy
import shutil
import tempfile
import time
import warnings

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import nn
from tqdm.auto import tqdm

from skmtl.influence import ArrowHessian
from skmtl.inspection import task_losses
from skmtl.network import SharedBottomNet

from _options import influence_damping

warnings.filterwarnings("ignore", category=UserWarning)


def synthetic(n_rows, n_features, n_tasks, seed):
    """Rows of ``n_tasks`` related two-class tasks (a shared low-rank signal)."""
    rng = np.random.default_rng(seed)
    basis = rng.standard_normal((n_features, 8)) / np.sqrt(n_features)
    task_coef = rng.standard_normal((n_tasks, 8)) + 1.0
    X = rng.standard_normal((n_rows, n_features))
    task = rng.integers(n_tasks, size=n_rows)
    logit = np.einsum("nf,fr,nr->n", np.tanh(X), basis, task_coef[task]) * 3
    y = (logit + rng.standard_normal(n_rows) > 0).astype(int)
    return np.column_stack([X, task]), y


class _Heads(nn.Module):
    """The fitted network as ``x_with_task -> two-class logits`` for traker/dattri."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        eta = self.net(x[:, :-1], x[:, -1].long())[:, 0]
        return torch.stack([torch.zeros_like(eta), eta], dim=1)


DEVICE = "cpu"  # set by main() from --device


def _on_cuda():
    return torch.device(DEVICE).type == "cuda"


def _sync():
    if _on_cuda():
        torch.cuda.synchronize()


def _measure(fn):
    """``(result, seconds, peak)``: peak GPU memory the call allocated on top of
    what was already allocated when it started (MiB; NaN on a CPU)."""
    _sync()
    if _on_cuda():
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
    start = time.perf_counter()
    out = fn()
    _sync()
    seconds = time.perf_counter() - start
    peak = (torch.cuda.max_memory_allocated() - before) / 2**20 if _on_cuda() else float("nan")
    return out, seconds, peak


def _best(fn, repeat):
    """``(seconds, peak)``: the fastest of ``repeat`` runs, and its peak memory."""
    return min((_measure(fn)[1:] for _ in range(repeat)), key=lambda r: r[0])


def factorization_times(blocks, repeat):
    """Seconds of ``ArrowHessian(*blocks)``: numpy on the host, torch on the blocks' device."""
    host = [b.detach().to("cpu", torch.float64).numpy() for b in blocks]
    return {
        "numpy (host)": _best(lambda: ArrowHessian(*host), repeat),
        f"torch ({blocks[0].device.type})": _best(lambda: ArrowHessian(*blocks), repeat),
    }


def random_arrow_blocks(n_tasks, d_task, d_shared, device, seed=0, rows_per_task=64, damping=1e-2):
    """SPD arrow blocks of the given shapes: low-rank Gauss-Newton terms plus damping."""
    gen = torch.Generator(device="cpu").manual_seed(seed)
    task = torch.empty((n_tasks, d_task, d_task), dtype=torch.float64, device=device)
    cross = torch.empty((n_tasks, d_task, d_shared), dtype=torch.float64, device=device)
    shared = damping * torch.eye(d_shared, dtype=torch.float64, device=device)
    for k in range(n_tasks):
        f = torch.randn(rows_per_task, d_task + d_shared, generator=gen, dtype=torch.float64)
        f = f.to(device) / np.sqrt(rows_per_task)
        head, bottom = f[:, :d_task], f[:, d_task:]
        task[k] = head.T @ head + damping * torch.eye(d_task, dtype=torch.float64, device=device)
        cross[k] = head.T @ bottom
        shared += bottom.T @ bottom
    return task, cross, shared


def factorization(args, device):
    from skmtl.network._influence import GradientProjector

    # the throughput model's shapes: bottom 784-width-width/2 seen through its projection
    w = args.width
    shapes = [(w, 784), (w,), (w // 2, w), (w // 2,)]
    d_shared = GradientProjector(shapes, args.proj_dim, seed=0, device="cpu", dtype=torch.float32).dim
    n_tasks, d_task = 10, w // 2 + 1
    blocks = random_arrow_blocks(n_tasks, d_task, d_shared, device)
    ArrowHessian(*blocks)  # warm-up (kernels, threads)
    times = factorization_times(blocks, args.repeat)
    print(f"\n## Arrow factorization alone: {n_tasks} task blocks of {d_task}, shared block "
          f"{d_shared}, float64; min of {args.repeat}; torch threads {torch.get_num_threads()}\n")
    print("| route | seconds | peak GPU MiB (above what was allocated before) |\n|---|---:|---:|")
    for name, (sec, peak) in times.items():
        print(f"| {name} | {sec:.3f} | {peak:,.0f} |")


def skmtl_featurize(est, batch_size):
    member = est._member(0)
    data = member.data
    n = len(data["x"])
    for start in range(0, n, batch_size):
        sl = slice(start, start + batch_size)
        batch = {k: v[sl] for k, v in data.items()}
        member._row_gradients(batch, with_factors=False)


def traker_featurize(model, X, y, device, proj_dim, batch_size, save_dir):
    from trak import TRAKer

    traker = TRAKer(model=model, task="image_classification", train_set_size=len(X),
                    save_dir=save_dir, device=device, proj_dim=proj_dim,
                    use_half_precision=False, logging_level=40)
    traker.load_checkpoint(model.state_dict(), model_id=0)
    for start in range(0, len(X), batch_size):
        xb, yb = X[start:start + batch_size], y[start:start + batch_size]
        traker.featurize(batch=(xb, yb), num_samples=len(xb))
    return traker


def traker_finish(traker, model, X_val, y_val, batch_size):
    """The rest of traker's pipeline: finalize features, score the validation rows."""
    traker.finalize_features()
    traker.start_scoring_checkpoint("val", model.state_dict(), model_id=0, num_targets=len(X_val))
    for start in range(0, len(X_val), batch_size):
        xb, yb = X_val[start:start + batch_size], y_val[start:start + batch_size]
        traker.score(batch=(xb, yb), num_samples=len(xb))
    return traker.finalize_scores("val")  # (n_train, n_val)


def dattri_cache(model, X, y, device, proj_dim, batch_size):
    from dattri.algorithm.trak import TRAKAttributor
    from dattri.task import AttributionTask

    def loss_func(params, pair):
        x, label = pair
        logits = torch.func.functional_call(model, params, x.unsqueeze(0))
        logp = -nn.functional.cross_entropy(logits, label.unsqueeze(0))
        return logp - torch.log(1 - torch.exp(logp))

    def correct_probability(params, pair):
        x, label = pair
        logits = torch.func.functional_call(model, params, x.unsqueeze(0))
        return torch.exp(-nn.functional.cross_entropy(logits, label.unsqueeze(0)))

    task = AttributionTask(loss_func=loss_func, model=model, checkpoints=model.state_dict())
    attributor = TRAKAttributor(task=task, correct_probability_func=correct_probability, device=device,
                                projector_kwargs={"proj_dim": proj_dim, "device": device})
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=batch_size,
                                         shuffle=False)
    attributor.cache(loader)


def throughput(args, device):
    X, y = synthetic(args.rows, 784, 10, seed=0)
    est = SharedBottomNet(hidden_layer_sizes=(args.width, args.width // 2), max_epochs=1, batch_size=1024,
                          batch_sampling="uniform",  # RESULTS.md's figures predate "auto"
                          learning_rate=1e-3, projection_dim=args.proj_dim,
                          influence_batch_size=args.batch, random_state=0, device=device).fit(X, y)
    n_params = sum(p.numel() for p in est.models_[0].parameters())
    X_val, y_val = X[:2000], y[:2000]
    rows, seconds = [], {}
    est._member(0)  # warm-up: builds the projector, compiles kernels
    _, sec, peak = _measure(lambda: skmtl_featurize(est, args.batch))
    rows.append(("skmtl featurize (Kronecker projection)", args.rows / sec, sec, peak))
    est._cache.clear()
    _, sec, peak = _measure(lambda: est.influence(X_val, y_val))
    seconds["skmtl"] = sec
    rows.append((f"skmtl influence() end to end, {args.rows:,} x 10 scores", args.rows / sec, sec, peak))
    est._cache.clear()
    _, sec, peak = _measure(lambda: est._member(0))
    rows.append(("  of which: pass 1, Gauss-Newton blocks + arrow factorization", args.rows / sec, sec, peak))
    _, sec, peak = _measure(lambda: est.influence(X_val, y_val))
    rows.append(("  of which: validation gradients + pass 2, scores", args.rows / sec, sec, peak))
    hessian = est._member(0).hessian
    blocks = (hessian.task_blocks, hessian.cross_blocks, hessian.shared_block)
    for name, (sec, peak) in factorization_times(blocks, args.repeat).items():
        rows.append((f"  arrow factorization alone, {name}, min of {args.repeat}", args.rows / sec, sec, peak))
    projected_dim = est._member(0).projector.dim
    del hessian, blocks
    est._cache.clear()  # free skmtl's device memory before the other libraries run
    if _on_cuda():
        torch.cuda.empty_cache()
    model = _Heads(est.models_[0]).eval()
    Xt = torch.as_tensor(X, dtype=torch.float32, device=device)
    yt = torch.as_tensor(y, dtype=torch.long, device=device)
    Xv = torch.as_tensor(X_val, dtype=torch.float32, device=device)
    yv = torch.as_tensor(y_val, dtype=torch.long, device=device)
    save_dir = tempfile.mkdtemp()
    try:
        try:
            traker, sec, peak = _measure(lambda: traker_featurize(model, Xt, yt, device, args.proj_dim,
                                                                  args.trak_batch, save_dir))
            seconds["traker featurize"] = sec
            rows.append(("traker featurize (alone)", args.rows / sec, sec, peak))
            _, rest, rest_peak = _measure(lambda: traker_finish(traker, model, Xv, yv, args.trak_batch))
            seconds["traker"] = sec + rest
            name = (f"traker end to end: featurize + finalize_features + score {len(X_val):,} "
                    "validation rows + finalize_scores")
            rows.append((name, args.rows / (sec + rest), sec + rest, max(peak, rest_peak)))
        except Exception as exc:  # report, don't hide
            rows.append((f"traker failed: {type(exc).__name__}: {exc}"[:90], np.nan, np.nan, np.nan))
        try:
            n_dattri = min(args.rows, args.dattri_rows)
            _, sec, peak = _measure(lambda: dattri_cache(model, Xt[:n_dattri], yt[:n_dattri], device,
                                                         args.proj_dim, args.trak_batch))
            rows.append((f"dattri TRAKAttributor.cache ({n_dattri} rows)", n_dattri / sec, sec, peak))
        except Exception as exc:
            rows.append((f"dattri failed: {type(exc).__name__}: {exc}"[:90], np.nan, np.nan, np.nan))
    finally:
        shutil.rmtree(save_dir, ignore_errors=True)
    print(f"\n## Throughput: {n_params:,} parameters, {args.rows:,} rows, projection dim "
          f"{args.proj_dim} (skmtl: {projected_dim} + exact heads)\n")
    print("| method | rows/s | seconds | peak GPU MiB (above what was allocated before) |\n"
          "|---|---:|---:|---:|")
    for name, rate, sec, peak in rows:
        print(f"| {name} | {rate:,.0f} | {sec:.3f} | {peak:,.0f} |")
    if "traker" in seconds:
        print(f"\nskmtl influence() end to end vs traker end to end: "
              f"{seconds['traker'] / seconds['skmtl']:,.1f}x faster; vs traker featurize alone: "
              f"{seconds['traker featurize'] / seconds['skmtl']:,.1f}x")


def lds(args, device):
    X, y = synthetic(4000, 20, 5, seed=1)
    train, val = np.arange(2000), np.arange(2000, 4000)
    params = dict(hidden_layer_sizes=(64,), max_epochs=30, batch_size=200, learning_rate=3e-3,
                  batch_sampling="uniform",  # RESULTS.md's figures predate batch_sampling="auto"
                  weight_decay=1e-3, n_iter_no_change=100, projection_dim=args.lds_proj_dim,
                  device=device, random_state=0, task_types="classification")
    full = SharedBottomNet(n_models=3, **params).fit(X[train], y[train])
    infl = full.influence(X[val], y[val])
    try:
        trak_scores = trak_task_scores(full, X[train], y[train], X[val], y[val], device, args.lds_proj_dim)
    except Exception as exc:  # report, don't hide, and keep skmtl's score
        print(f"traker failed in the LDS part: {type(exc).__name__}: {exc}")
        trak_scores = None
    rng = np.random.default_rng(0)
    actual, pred_skmtl, pred_trak = [], [], []
    for _ in range(args.subsets):
        keep = np.sort(rng.choice(len(train), len(train) // 2, replace=False))
        dropped = np.setdiff1d(np.arange(len(train)), keep)
        model = SharedBottomNet(n_models=3, **params).fit(X[train][keep], y[train][keep])
        actual.append(task_losses(model, X[val], y[val]))
        pred_skmtl.append(infl[dropped].sum(axis=0))
        if trak_scores is not None:
            pred_trak.append(-trak_scores[keep].sum(axis=0))  # larger margins, lower loss
    predictions = {"skmtl MTIF": pred_skmtl, "TRAK (traker)": pred_trak}
    actual = np.array(actual)
    score = {name: np.mean([spearmanr(np.array(p)[:, j], actual[:, j])[0] for j in range(actual.shape[1])])
             for name, p in predictions.items() if p}
    print(f"\n## LDS: 5 tasks x 400 rows, (64,) bottom, 3 models, {args.subsets} random 50% subsets, "
          f"projection dim {args.lds_proj_dim}\n")
    print("| method | LDS (mean Spearman over tasks) |\n|---|---:|")
    for name, value in score.items():
        print(f"| {name} | {value:.3f} |")


def trak_task_scores(est, X, y, X_val, y_val, device, proj_dim):
    """TRAK scores on the ensemble's members, summed over each task's validation rows."""
    from trak import TRAKer

    save_dir = tempfile.mkdtemp()
    try:
        models = [_Heads(net).eval() for net in est.models_]
        # traker loads every checkpoint into its model: a copy, or member 0 ends up as the last member
        traker = TRAKer(model=copy.deepcopy(models[0]), task="image_classification", train_set_size=len(X),
                        save_dir=save_dir, device=device, proj_dim=proj_dim,
                        use_half_precision=False, logging_level=40)
        Xt = torch.as_tensor(X, dtype=torch.float32, device=device)
        yt = torch.as_tensor(y, dtype=torch.long, device=device)
        Xv = torch.as_tensor(X_val, dtype=torch.float32, device=device)
        yv = torch.as_tensor(y_val, dtype=torch.long, device=device)
        for i, model in enumerate(models):
            traker.load_checkpoint(model.state_dict(), model_id=i)
            for start in range(0, len(X), 500):
                traker.featurize(batch=(Xt[start:start + 500], yt[start:start + 500]),
                                 num_samples=len(Xt[start:start + 500]))
        traker.finalize_features()
        for i, model in enumerate(models):
            traker.start_scoring_checkpoint("val", model.state_dict(), model_id=i, num_targets=len(Xv))
            for start in range(0, len(Xv), 500):
                traker.score(batch=(Xv[start:start + 500], yv[start:start + 500]),
                             num_samples=len(Xv[start:start + 500]))
        scores = np.asarray(traker.finalize_scores("val"))  # (n_train, n_val)
    finally:
        shutil.rmtree(save_dir, ignore_errors=True)
    task = X_val[:, -1].astype(int)
    return np.stack([scores[:, task == k].sum(axis=1) for k in range(len(est.tasks_))], axis=1)


# -- LDS study (issue 18): skmtl at 1/5/10/20 models vs kronfluence (EK-FAC) and TRAK ------------
def study_setting(name, seed=0):
    """``(X, y, X_val, y_val, params)`` of one LDS / Grad-TAE setting.

    * ``regression``: the near-linear setting of issue 18: 4 tasks, 60 rows
      each, 6 features, a (16,) bottom, full-batch Adam for 400 epochs;
    * ``classification``: the same with two-class logistic tasks;
    * ``har``: HAR (sitting vs the rest), the first 6 volunteers,
      standardized features, a (32,) bottom, full-batch Adam for 200 epochs;
      half of each volunteer's rows train, the rest validate.
    """
    from skmtl.datasets import load_har, make_multitask_classification, make_multitask_regression

    params = dict(hidden_layer_sizes=(16,), max_epochs=400, learning_rate=1e-2, batch_size=10_000,
                  n_iter_no_change=10_000, device="cpu", random_state=0)
    if name == "har":
        X, y = load_har(return_X_y=True)
        keep = X[:, -1] <= 6
        X, y = X[keep], y[keep]
        X[:, :-1] = (X[:, :-1] - X[:, :-1].mean(axis=0)) / (X[:, :-1].std(axis=0) + 1e-12)
        params.update(hidden_layer_sizes=(32,), max_epochs=200, task_types="classification")
    else:
        make = make_multitask_regression if name == "regression" else make_multitask_classification
        X, y = make(n_tasks=4, n_samples=120, n_features=6, random_state=seed)
        if name == "classification":
            params.update(task_types="classification")
    # per task, alternate rows train / validate
    first = np.zeros(len(X), dtype=bool)
    for k in np.unique(X[:, -1]):
        rows = np.flatnonzero(X[:, -1] == k)
        first[rows[::2]] = True
    return X[first], y[first], X[~first], y[~first], params


def _members(est, n):
    """The fitted ensemble restricted to its first ``n`` members (the members of a
    fit with ``n_models=n`` and the same ``random_state``: same seeds)."""
    out = copy.copy(est)
    out.models_, out._cache = est.models_[:n], {}
    return out


def _lds(predicted, actual, rng, n_boot):
    """Mean over tasks of the Spearman correlation over subsets, and its bootstrap
    spread over subset draws (standard deviation over resampled subsets)."""
    def score(rows):
        return np.nanmean([spearmanr(predicted[rows, j], actual[rows, j])[0] for j in range(actual.shape[1])])

    n = len(actual)
    boot = [score(rng.integers(n, size=n)) for _ in range(n_boot)]
    return score(np.arange(n)), float(np.nanstd(boot))


class _KronNet(nn.Module):
    """A member as ``x_with_task -> outputs`` with its heads as one ``nn.Linear``
    (kronfluence factorizes Linear modules only)."""

    def __init__(self, net):
        super().__init__()
        n_tasks, n_out, width = net.head_weight.shape
        self.n_tasks, self.n_out = n_tasks, n_out
        self.bottom = copy.deepcopy(net.bottom)
        self.head = nn.Linear(width, n_tasks * n_out, dtype=net.head_weight.dtype)
        with torch.no_grad():
            self.head.weight.copy_(net.head_weight.reshape(-1, width))
            self.head.bias.copy_(net.head_bias.reshape(-1))

    def forward(self, x):
        out = self.head(self.bottom(x[:, :-1])).reshape(len(x), self.n_tasks, self.n_out)
        return out[torch.arange(len(x)), x[:, -1].long()]


def kronfluence_scores(net, X, y, X_val, y_val, regression):
    """EK-FAC influence (kronfluence, its default damping heuristic) of each training
    row on each validation row's loss, for one member: ``(n_train, n_val)``;
    positive: the row lowers the loss (its removal raises it)."""
    from kronfluence.analyzer import Analyzer, prepare_model
    from kronfluence.arguments import FactorArguments
    from kronfluence.task import Task

    def row_loss(out, target):
        if regression:
            return (out[:, 0] - target) ** 2
        return nn.functional.binary_cross_entropy_with_logits(out[:, 0], target, reduction="none")

    class RowTask(Task):
        def compute_train_loss(self, batch, model, sample=False):
            x, target = batch
            out = model(x)
            if sample:  # the true Fisher: targets drawn from the model
                with torch.no_grad():
                    target = (out[:, 0] + np.sqrt(0.5) * torch.randn_like(out[:, 0]) if regression
                              else torch.bernoulli(torch.sigmoid(out[:, 0])))
            return row_loss(out, target).sum()

        def compute_measurement(self, batch, model):
            x, target = batch
            return row_loss(model(x), target).sum()

    dtype = torch.float64
    train = torch.utils.data.TensorDataset(torch.as_tensor(X, dtype=dtype), torch.as_tensor(y, dtype=dtype))
    val = torch.utils.data.TensorDataset(torch.as_tensor(X_val, dtype=dtype),
                                         torch.as_tensor(y_val, dtype=dtype))
    save_dir = tempfile.mkdtemp()
    try:
        model = prepare_model(_KronNet(net).to(dtype).eval(), RowTask())
        analyzer = Analyzer("member", model, RowTask(), cpu=True, disable_tqdm=True, output_dir=save_dir)
        analyzer.fit_all_factors("ekfac", train, per_device_batch_size=len(X),
                                 factor_args=FactorArguments(strategy="ekfac"), overwrite_output_dir=True)
        analyzer.compute_pairwise_scores("scores", "ekfac", val, train, per_device_query_batch_size=len(X_val),
                                         per_device_train_batch_size=len(X), overwrite_output_dir=True)
        return analyzer.load_pairwise_scores("scores")["all_modules"].numpy().T
    finally:
        shutil.rmtree(save_dir, ignore_errors=True)


def _per_task(scores, X_val, n_tasks):
    """Sum row-by-validation-row scores ``(n_train, n_val)`` over each task's validation
    rows, divided by its count (the loss is a per-task mean): ``(n_train, n_tasks)``."""
    task = X_val[:, -1].astype(int)
    return np.stack([scores[:, task == k].mean(axis=1) for k in range(n_tasks)], axis=1)


def lds_study(args):
    """LDS of skmtl at several ensemble sizes against kronfluence and TRAK, one setting."""
    torch.set_num_threads(1)
    X, y, X_val, y_val, params = study_setting(args.setting)
    setting = SharedBottomNet(**params)
    # what a --save file written before --refit-from existed holds: scratch refits of the setting
    earlier = {"refit_from": "scratch", "refit_epochs": setting.max_epochs, "max_epochs": setting.max_epochs,
               "weight_decay": setting.weight_decay}
    if args.weight_decay is not None:
        params["weight_decay"] = args.weight_decay
    regression = args.setting == "regression"
    tasks = np.unique(X[:, -1])
    X[:, -1] = np.searchsorted(tasks, X[:, -1])  # tasks 0..K-1, as the peers' wrappers read them
    X_val[:, -1] = np.searchsorted(tasks, X_val[:, -1])
    sizes = sorted(args.models)
    n_truth = args.truth_models
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    full = SharedBottomNet(n_models=max(*sizes, n_truth), **params).fit(X, y)  # warm refits start from it
    print(f"setting {args.setting}: {len(X)} training rows, {len(X_val)} validation rows, "
          f"{len(tasks)} tasks; full fit of {full.n_models} members {time.perf_counter() - start:.1f} s")
    grad_norm = full.gradient_norm_
    check = task_losses(full, X_val, y_val)  # scoring and refits must leave the members as fitted
    print(f"gradient norm of the objective per member (median, max): {np.median(grad_norm):.2e}, "
          f"{np.max(grad_norm):.2e}")
    predictions, seconds = {}, {}
    try:
        import kronfluence  # noqa: F401

        kron = []
    except ImportError:
        kron = None
    for n in sizes:
        for damping in args.dampings:
            est = _members(full, n).set_params(influence_damping=damping)
            key = f"skmtl, {n} models, influence_damping={'none' if damping is None else damping}"
            predictions[key], seconds[key] = _timed(lambda: est.influence(X_val, y_val))
        if not regression:
            try:
                raw, sec = _timed(lambda: trak_task_scores(_members(full, n), X, y, X_val, y_val, "cpu",
                                                           args.lds_proj_dim))
                predictions[f"TRAK (traker), {n} models"] = -raw  # margins up, loss down
                seconds[f"TRAK (traker), {n} models"] = sec
            except ImportError:
                pass
        if n <= args.kron_max_models and kron is not None:
            while len(kron) < n:  # per member, once; the ensemble's score is the members' mean
                kron.append(_timed(lambda: _per_task(kronfluence_scores(
                    full.models_[len(kron)], X, y, X_val, y_val, regression), X_val, len(tasks))))
            predictions[f"kronfluence EK-FAC, {n} models"] = np.mean([k[0] for k in kron[:n]], axis=0)
            seconds[f"kronfluence EK-FAC, {n} models"] = sum(k[1] for k in kron[:n])
    actual = {n: [] for n in sorted({min(n, n_truth) for n in sizes} | {n_truth})}
    removed, single, movement = [], [], []
    truth = {"refit_from": args.refit_from, "refit_epochs": args.refit_epochs or full.max_epochs,
             "max_epochs": full.max_epochs, "weight_decay": full.weight_decay}
    if args.truth:  # the subsets and refit losses of an earlier run (same setting, --save)
        saved = np.load(args.truth)
        removed, single = list(saved["removed"]), list(saved["single"])
        actual = {n: list(saved[f"actual_{n}"]) for n in actual}
        movement = list(saved["movement"]) if "movement" in saved else []
        stored = _refit_kind(saved, earlier)
        if stored != truth:
            raise ValueError(f"--truth {args.truth} holds refits {stored}, not {truth}; pass the same "
                             "--refit-from, --refit-epochs and --weight-decay.")
    if args.refit_from == "trained":
        check_warm_start(full, n_truth, X, y, X_val, y_val, args.refit_epochs)
    for _ in tqdm(range(0 if args.truth else args.subsets), desc="subset refits"):
        keep = np.sort(rng.choice(len(X), len(X) // 2, replace=False))
        removed.append(np.setdiff1d(np.arange(len(X)), keep))
        refit = subset_refit(full, n_truth, args.refit_from, args.refit_epochs).fit(X[keep], y[keep])
        movement.append(relative_movement(refit, full))
        for n in actual:
            actual[n].append(task_losses(_members(refit, n), X_val, y_val))
        others = _members(refit, n_truth)
        others.models_ = refit.models_[1:]
        single.append((task_losses(_members(refit, 1), X_val, y_val), task_losses(others, X_val, y_val)))
    if not np.array_equal(check, task_losses(full, X_val, y_val)):
        raise RuntimeError("the scoring or the subset refits changed the full fit's members")
    actual = {n: np.array(v) for n, v in actual.items()}
    if args.save:
        np.savez(args.save, removed=np.array(removed), single=np.array(single), movement=np.array(movement),
                 **truth, **{f"actual_{n}": v for n, v in actual.items()},
                 **{f"pred_{name}": v for name, v in predictions.items()})
    boot = np.random.default_rng(1)
    start_point = ("from scratch with the same settings and seeds" if args.refit_from == "scratch" else
                   "continued from the full fit's members (warm_start), the same settings")
    print(f"\n## LDS, {args.setting}: {len(removed)} random half subsets; truth: the subset refit "
          f"{start_point}, {truth['refit_epochs']} epochs, its first min(models, {n_truth}) members "
          f"(same models), and all {n_truth} (expected retrain)\n")
    if movement:
        q = np.percentile(movement, [25, 50, 75])
        print(f"relative distance of the refits' weights from the full fit's, per member "
              f"(|theta_refit - theta_full| / |theta_full|; quartiles over subsets and the {n_truth} "
              f"members): {q[0]:.3f}, {q[1]:.3f}, {q[2]:.3f}\n")
    print("| method | seconds | LDS, same models | LDS vs {n_truth}-member retrain |\n|---|---:|---:|---:|"
          .replace("{n_truth}", str(n_truth)))
    for name, scores in predictions.items():
        n = int(name.split(", ")[1].split()[0])
        pred = np.array([scores[rows].sum(axis=0) for rows in removed])
        same = _lds(pred, actual[min(n, n_truth)], boot, args.boot) if n <= n_truth else None
        expected = _lds(pred, actual[n_truth], boot, args.boot)
        cell = "" if same is None else f"{same[0]:.3f} ± {same[1]:.3f}"
        print(f"| {name} | {seconds[name]:.2f} | {cell} | {expected[0]:.3f} ± {expected[1]:.3f} |")
    if args.compare_refits:  # other refits of the same subsets as the prediction
        other = np.load(args.compare_refits)
        if not np.array_equal(other["removed"], np.array(removed)):
            raise ValueError(f"--compare-refits {args.compare_refits} holds other subsets than the truth.")
        kind = _refit_kind(other, earlier)
        for m in sorted(int(key[len("actual_"):]) for key in other.files if key.startswith("actual_")):
            same = (_lds(other[f"actual_{m}"], actual[m], boot, args.boot) if m in actual and m < n_truth
                    else None)
            expected = _lds(other[f"actual_{m}"], actual[n_truth], boot, args.boot)
            cell = "" if same is None else f"{same[0]:.3f} ± {same[1]:.3f}"
            print(f"| the refits {kind['refit_from']}, {kind['refit_epochs']} epochs, {m} members, as the "
                  f"prediction | | {cell} | {expected[0]:.3f} ± {expected[1]:.3f} |")
    if n_truth > 1:  # how well the expected retrain predicts one seed's retrain: a noise ceiling
        single = np.array(single)
        ceiling = _lds(single[:, 1], single[:, 0], boot, args.boot)
        print(f"| ceiling: members 2-{n_truth} of the retrain predicting member 1 | | "
              f"{ceiling[0]:.3f} ± {ceiling[1]:.3f} (1 model) | |")
        one, many = exact_predictor_lds(ceiling[0], n_truth - 1, n_truth)
        print(f"| an exact predictor of the expected retrain (from the ceiling) | | {one:.2f} (one seed) "
              f"| {many:.2f} |")
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


def subset_refit(full, n, refit_from, epochs=None):
    """The estimator whose fit on a subset is the truth: ``n`` members with the
    full fit's settings, trained from scratch (the same seeds) or continued from
    the full fit's first ``n`` members (``warm_start``); ``epochs`` replaces
    ``max_epochs``."""
    est = _members(full, n).set_params(n_models=n, warm_start=refit_from == "trained")
    return est.set_params(max_epochs=epochs) if epochs else est


def check_warm_start(full, n, X, y, X_val, y_val, epochs):
    """Check that a warm-started refit starts at the full fit's weights: on all
    rows, its objective's gradient norm before training is the full fit's, and
    one Adam step of learning rate 1e-12 leaves the validation losses as they were.
    Then print how far the refit's ``epochs`` move the weights on all rows (no
    row removed), and its training objective and validation loss: the drift of
    a fit that has not converged."""
    refit = subset_refit(full, n, "trained", 1).set_params(learning_rate=1e-12).fit(X, y)
    start = np.max(np.abs(refit._initial_gradient_norm / full.gradient_norm_[:n] - 1))
    moved = np.max(np.abs(task_losses(refit, X_val, y_val) - task_losses(_members(full, n), X_val, y_val)))
    print(f"warm start check (all rows, one step of learning rate 1e-12): gradient norm at the start "
          f"vs the full fit's, max relative difference {start:.1e}; validation losses, max difference "
          f"{moved:.1e}")
    if start > 1e-6 or moved > 1e-6:
        raise RuntimeError("the warm-started refit does not start at the full fit's weights")
    more = subset_refit(full, n, "trained", epochs).fit(X, y)
    drift = relative_movement(more, full)
    objective = [np.mean([curve[-1] for curve in curves])
                 for curves in (full.loss_curve_[:n], more.loss_curve_)]
    val = [task_losses(est, X_val, y_val).mean() for est in (_members(full, n), more)]
    print(f"the same refit on all rows, {epochs or full.max_epochs} epochs: relative distance of the weights "
          f"from the full fit's, per member: {', '.join(f'{d:.3f}' for d in drift)}; training objective "
          f"{objective[0]:.3f} -> {objective[1]:.3f} (mean over members), validation loss {val[0]:.3f} -> "
          f"{val[1]:.3f} (the ensemble's, mean over tasks)")


def relative_movement(refit, full):
    """Per member, the distance of the refit's weights from the full fit's member
    of the same index, relative to the latter's norm."""
    def flat(net):
        return nn.utils.parameters_to_vector(net.parameters()).detach()

    return [float((flat(a) - flat(b)).norm() / flat(b).norm()) for a, b in zip(refit.models_, full.models_)]


def exact_predictor_lds(ceiling, n_averaged, n_truth):
    """The LDS an exact predictor of the expected retrain would reach against one
    seed's retrain and against the ``n_truth``-member retrain.

    Model: a seed's retrain is the expected retrain plus independent seed noise,
    with ``r`` the share of its variance that is signal (its reliability).
    ``ceiling`` (``n_averaged`` seeds averaged, predicting another) is then
    ``r / sqrt(r + (1 - r) / n_averaged)``; solved for ``r``, the exact
    predictor reaches ``sqrt(r)`` against one seed and ``sqrt(m r / (1 + (m - 1) r))``
    against ``m`` averaged seeds (correlations, read as Spearman's).
    """
    a = ceiling**2 / n_averaged  # r**2 = ceiling**2 (r (1 - 1/n) + 1/n)
    b = ceiling**2 * (1 - 1 / n_averaged)
    r = min(1.0, (b + np.sqrt(b**2 + 4 * a)) / 2)
    return np.sqrt(r), np.sqrt(n_truth * r / (1 + (n_truth - 1) * r))


def _refit_kind(saved, earlier):
    """How the refits in a ``--save`` file were made (keys of ``earlier``, its
    values where the file does not say)."""
    return {key: saved[key].item() if key in saved else value for key, value in earlier.items()}


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


# -- Grad-TAE (issue 18): estimated vs refitted task-subset losses ---------------------------------
def gradtae(args):
    """Grad-TAE on a network: subset losses from one fit vs real subset refits."""
    from sklearn.base import clone

    from skmtl.relatedness import task_subset_losses
    from skmtl.relatedness._subsets import _sample_subsets

    torch.set_num_threads(1)
    X, y, X_val, y_val, params = study_setting(args.setting)
    n_tasks = len(np.unique(X[:, -1]))
    if args.setting != "har":  # more tasks than the LDS setting, so that subsets differ
        from skmtl.datasets import make_multitask_classification, make_multitask_regression

        make = make_multitask_regression if args.setting == "regression" else make_multitask_classification
        X, y = make(n_tasks=8, n_samples=120, n_features=6, epsilon=0.5, random_state=0)
        X, X_val, y, y_val = X[::2], X[1::2], y[::2], y[1::2]
        n_tasks = 8
    est = SharedBottomNet(n_models=args.gradtae_models, **params)
    size = n_tasks // 2
    if args.setting == "har":  # every subset of half the volunteers
        from itertools import combinations

        subsets = np.array([np.isin(np.arange(n_tasks), c) for c in combinations(range(n_tasks), size)])
    else:
        subsets = _sample_subsets(n_tasks, args.subsets, size, np.random.RandomState(0))
    estimates = {}
    for components in args.components:
        n_comp = components or None
        estimates[n_comp] = _timed(lambda: task_subset_losses(
            est, X, y, X_val, y_val, subsets=subsets, method="gradient", n_components=n_comp,
            random_state=0))
    ref_res, ref_sec = _timed(lambda: task_subset_losses(est, X, y, X_val, y_val, subsets=subsets,
                                                         method="refit"))
    seed_res = task_subset_losses(clone(est).set_params(random_state=1), X, y, X_val, y_val,
                                  subsets=subsets, method="refit")

    def agreement(a, b):
        rho = [spearmanr(a.losses[s, k], b.losses[s, k])[0] for k in range(n_tasks) for s in [subsets[:, k]]]
        return f"{np.nanmean(rho):.3f} ({np.nanmin(rho):.3f}, {np.nanmax(rho):.3f})"

    print(f"\n## Grad-TAE, {args.setting}: {n_tasks} tasks, {len(X)} training rows, {len(subsets)} "
          f"subsets of {size} tasks, {args.gradtae_models} model(s)\n")
    print("| subset losses from | Spearman per task vs the refits: mean (min, max) | seconds |\n"
          "|---|---:|---:|")
    for n_comp, (res, sec) in estimates.items():
        print(f"| Grad-TAE, n_components={n_comp} (one fit + {len(subsets)} regressions) | "
              f"{agreement(res, ref_res)} | {sec:.1f} |")
    print(f"| refits with another random_state (a noise ceiling) | {agreement(seed_res, ref_res)} | |")
    print(f"| the refits ({len(subsets)} fits) | 1 | {ref_sec:.1f} |")


def loo(args):
    """Part 5: influence against warm-started leave-one-out refits, by activation."""
    from scipy.stats import pearsonr

    from skmtl.datasets import make_multitask_classification, make_multitask_regression

    print("\n## First-order influence vs warm-started leave-one-out refits (Pearson, "
          f"{args.seeds} data seeds; 3 tasks of 30 training and 30 validation rows, 3 features, "
          "hidden (4,), lbfgs, float64)\n")
    print("| target | activation | weight_decay | influence_damping | mean ± std | min .. max | "
          "gradient norm left, max |")
    print("|---|---|---|---|---|---|---|")
    for target, make in (("regression", make_multitask_regression),
                         ("classification", make_multitask_classification)):
        for activation, weight_decay in (("logistic", 0.2), ("tanh", 0.05), ("relu", 0.05)):
            r = {damping: [] for damping in ("auto", None)}
            left = []  # gradient norm at the fit over that at the start (influence warns above 1 %)
            for seed in range(args.seeds):
                X, y = make(n_tasks=3, n_samples=60, n_features=3, random_state=seed)
                first = np.arange(len(y)) % 60 < 30
                X, y, X_val, y_val = X[first], y[first], X[~first], y[~first]
                full = SharedBottomNet(hidden_layer_sizes=(4,), activation=activation,
                                       weight_decay=weight_decay, solver="lbfgs", max_epochs=2000,
                                       tol=1e-10, dtype="float64", projection_dim=None,
                                       random_state=0, device="cpu").fit(X, y)
                left.append(full.gradient_norm_[0] / full._initial_gradient_norm[0])
                base = task_losses(full, X_val, y_val)
                rows = np.arange(0, len(y), 6)
                actual = np.ravel([
                    task_losses(copy.deepcopy(full).set_params(warm_start=True).fit(
                        np.delete(X, i, axis=0), np.delete(y, i)), X_val, y_val) - base
                    for i in rows])
                for damping in r:
                    scores = full.set_params(influence_damping=damping).influence(X_val, y_val)
                    r[damping].append(pearsonr(scores[rows].ravel(), actual)[0])
            for damping, values in r.items():
                print(f"| {target} | {activation} | {weight_decay} | {damping} | {np.mean(values):.2f} ± "
                      f"{np.std(values):.2f} | {np.min(values):.2f} .. {np.max(values):.2f} | "
                      f"{np.max(left):.1e} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--proj-dim", type=int, default=2048)
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--trak-batch", type=int, default=256)
    parser.add_argument("--dattri-rows", type=int, default=5000)
    parser.add_argument("--subsets", type=int, default=40)
    parser.add_argument("--lds-proj-dim", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3, help="repeats of the factorization timings")
    parser.add_argument("--part", default="all", choices=[
        "all", "throughput", "factorization", "lds", "lds-study", "gradtae", "loo"])
    parser.add_argument("--setting", choices=["regression", "classification", "har"], default="regression",
                        help="lds-study and gradtae: the data and network")
    parser.add_argument("--models", type=int, nargs="+", default=[1, 5, 10, 20],
                        help="lds-study: ensemble sizes scored")
    parser.add_argument("--truth-models", type=int, default=5,
                        help="lds-study: members of each subset refit")
    parser.add_argument("--dampings", nargs="*", default=["auto"], type=influence_damping,
                        help="lds-study: score with these influence_damping values (floats, auto, or none "
                             "for weight_decay alone)")
    parser.add_argument("--kron-max-models", type=int, default=20,
                        help="lds-study: largest ensemble scored by kronfluence")
    parser.add_argument("--boot", type=int, default=200, help="lds-study: bootstrap draws of subsets")
    parser.add_argument("--save", default=None, help="lds-study: save scores and losses to this .npz")
    parser.add_argument("--truth", default=None,
                        help="lds-study: reuse the subsets and refit losses saved by --save")
    parser.add_argument("--refit-from", choices=["scratch", "trained"], default="scratch",
                        help="lds-study: the subset refits start from new weights (the same seeds) or "
                             "continue from the full fit's members (warm_start; Bae et al.'s proximal view)")
    parser.add_argument("--refit-epochs", type=int, default=None,
                        help="lds-study: epochs of the subset refits (default: the setting's)")
    parser.add_argument("--weight-decay", type=float, default=None,
                        help="lds-study: replaces the setting's weight_decay (full fit and refits)")
    parser.add_argument("--compare-refits", default=None,
                        help="lds-study: also score the refit losses saved (--save) in this file, on the "
                             "same subsets, as predictions of this run's truth")
    parser.add_argument("--gradtae-models", type=int, default=3, help="gradtae: n_models")
    parser.add_argument("--components", type=int, nargs="+", default=[0, 64, 16],
                        help="gradtae: n_components values (0: no projection)")
    parser.add_argument("--seeds", type=int, default=8, help="loo: data sets per setting")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    args = parser.parse_args()
    global DEVICE
    device = DEVICE = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    name = torch.cuda.get_device_name() if device == "cuda" else "CPU"
    print(f"device: {name}; torch {torch.__version__}; torch threads {torch.get_num_threads()}")
    if args.part in ("all", "throughput"):
        throughput(args, device)
    if args.part == "factorization":
        factorization(args, device)
    if args.part in ("all", "lds"):
        lds(args, device)
    if args.part == "lds-study":
        lds_study(args)
    if args.part == "gradtae":
        gradtae(args)
    if args.part == "loo":
        loo(args)


if __name__ == "__main__":
    main()
