"""Per seed: the default's own noise model kind and whether its implied balance is closer to the clean
balance than the given one (Q3's gate)."""
import sys, os, pickle, warnings, numpy as np
from joblib import Parallel, delayed
import selection_noisy as sn
from skmtl import MultiTaskLogistic
from skmtl.selection import MTIFSelector
from skmtl.selection._auto import moves_the_balance_away, class_balances

def one(setting, seed):
    d = sn.prepare(setting, seed)
    X, y = d["X"], d["y"]
    prior = (d["y_clean"][:, None] == np.unique(y)).mean(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        noise = MTIFSelector(MultiTaskLogistic(), random_state=seed, removal_ratio=0.0).fit(X, y).label_noise_
    gate = noise.noise_kind == "class-conditional" and moves_the_balance_away(noise, y, prior) == ""
    return dict(seed=seed, kind=noise.noise_kind, gate=bool(gate), implied=class_balances(noise, y)[0])

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
        print(s, sum(r["gate"] for r in done[s]), flush=True)
