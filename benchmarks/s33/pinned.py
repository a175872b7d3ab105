"""Upper bound: the transition matrix pinned by the true class balance (smallest flows), the
plain out-of-fold probabilities corrected by it, its expected count removed; no held-out test."""
import sys, pickle, warnings, numpy as np
sys.path.insert(0, '/work/main/benchmarks')
from joblib import Parallel, delayed
import selection_noisy as sn
from skmtl import MultiTaskLogistic
from skmtl.selection._auto import lowest_keeping_every_class

def pinned(prior, given):
    surplus, deficit = np.clip(prior - given, 0, None), np.clip(given - prior, 0, None)
    flow = np.outer(surplus, deficit) / max(deficit.sum(), 1e-12)
    T = flow / np.maximum(prior, 1e-12)[:, None]
    T[np.diag_indices_from(T)] = 1 - T.sum(axis=1)
    return T

def one(setting, seed):
    d = sn.prepare(setting, seed)
    X, y = d["X"], d["y"]
    classes = np.unique(y)
    prior = (d["y_clean"][:, None] == classes).mean(axis=0)
    given = (y[:, None] == classes).mean(axis=0)
    T = pinned(prior, given)
    model = MultiTaskLogistic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = sn.out_of_fold(model, X, y, seed, "predict_proba")
        ok = np.isfinite(plain).all(axis=1)
        g = np.searchsorted(classes, y)
        clean = np.linalg.lstsq(T.T, plain[ok].T, rcond=None)[0].T
        clean = np.clip(clean, 1e-12, None); clean /= clean.sum(axis=1, keepdims=True)
        joint = clean * T[:, g[ok]].T
        q = np.full(len(y), np.nan); q[ok] = (joint[np.arange(ok.sum()), g[ok]] / joint.sum(axis=1))
        n = int(np.floor(np.nansum(1 - q) + 1e-9))
        cand = np.flatnonzero(ok)
        drop = lowest_keeping_every_class(q, cand, n, y, np.ones(len(y), bool))
        keep = np.setdiff1d(np.arange(len(y)), drop)
        base = sn.test_score(model, X, y, np.arange(len(y)), d)
        gain = sn.test_score(model, X, y, keep, d) - base
        orc = sn.test_score(model, X, y, np.flatnonzero(~d["bad"]), d) - base
    return dict(seed=seed, gain=gain, oracle=orc, n=n, flipped=float(d["bad"][drop].mean()) if len(drop) else np.nan,
                T=T, prior=prior, given=given)

if __name__ == "__main__":
    out = sys.argv[1]; names = sys.argv[2].split(";")
    try: done = pickle.load(open(out, "rb"))
    except FileNotFoundError: done = {}
    for s in names:
        if s in done: continue
        done[s] = Parallel(n_jobs=2)(delayed(one)(s, k) for k in range(20))
        pickle.dump(done, open(out, "wb"))
        g = np.array([r["gain"] for r in done[s]]); o = np.array([r["oracle"] for r in done[s]])
        print(f"{s[:55]:55s} pinned {g.mean():+6.2f} ± {g.std():.2f} [{(g>0).sum()}/{(g==0).sum()}/{(g<0).sum()}] oracle {o.mean():+6.2f} flipped {np.nanmean([r['flipped'] for r in done[s]]):.2f}", flush=True)
