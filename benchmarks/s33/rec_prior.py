"""Per seed: the default's gain and the gain with class_prior = the clean labels' balance
(the library on PYTHONPATH: the veto at de1f559 or the constrained matrix of this session)."""
import sys, os, pickle, warnings, numpy as np
from joblib import Parallel, delayed
import selection_noisy as sn
from skmtl import MultiTaskLogistic
from skmtl.selection import MTIFSelector

def one(setting, seed):
    d = sn.prepare(setting, seed)
    X, y = d["X"], d["y"]
    model = MultiTaskLogistic()
    prior = (d["y_clean"][:, None] == np.unique(y)).mean(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = sn.test_score(model, X, y, np.arange(len(y)), d)
        default = MTIFSelector(model, random_state=seed).fit(X, y)
        gain_default = (sn.test_score(model, X, y, default.sample_indices_, d) - base
                        if len(default.sample_indices_) < len(y) else 0.0)
        knowing = MTIFSelector(model, random_state=seed, class_prior=prior).fit(X, y)
        n = len(y) - len(knowing.sample_indices_)
        gain = sn.test_score(model, X, y, knowing.sample_indices_, d) - base if n else 0.0
    return dict(seed=seed, gain=gain, gain_default=gain_default, n=n, kind=knowing.label_noise_.noise_kind,
                T=knowing.label_noise_.transition)

if __name__ == "__main__":
    out, names = sys.argv[1], sys.argv[2].split(";")
    if len(sys.argv) > 3:
        a = sys.argv[3:]
        names = sn.register_table(a[0], a[1], a[2], positive=a[3] or None,
                                  features=a[4].split(",") if len(a) > 4 and a[4] else None,
                                  rows_per_task=int(a[5]) if len(a) > 5 else None)
    done = pickle.load(open(out, "rb")) if os.path.exists(out) else {}
    for s in names:
        if s in done or s not in sn.SETTINGS or sn.SETTINGS[s][2]:
            continue
        done[s] = Parallel(n_jobs=2)(delayed(one)(s, k) for k in range(20))
        pickle.dump(done, open(out + ".tmp", "wb")); os.replace(out + ".tmp", out)
        g = np.array([r["gain"] for r in done[s]]); g0 = np.array([r["gain_default"] for r in done[s]])
        print(f"{s[:55]:55s} prior {g.mean():+6.2f} ± {g.std():.2f} [{(g>0).sum()}/{(g==0).sum()}/{(g<0).sum()}]"
              f" default {g0.mean():+6.2f}", flush=True)
