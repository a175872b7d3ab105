"""Judge Q1 (prefix new_/cnew_) or V2 (v2_/cv2_) against the veto (s32 prior_*.pkl where recorded, else the default)."""
import glob, pickle, sys, numpy as np
prefix = sys.argv[1]
veto = {}
for f in glob.glob("/work/notes/s32/prior_*.pkl") + glob.glob("/work/notes/s32/fresh_prior_*.pkl"):
    veto.update(pickle.load(open(f, "rb")))

def fmt(v):
    v = np.asarray(v); w = int((v > 1e-9).sum()); l = int((v < -1e-9).sum())
    return f"{v.mean():+.2f} ± {v.std():.2f} [{w}/{len(v) - w - l}/{l}]"

def judge(files, title):
    recs = {}
    for f in files:
        recs.update(pickle.load(open(f, "rb")))
    print(f"\n{title}: {len(recs)} settings\n")
    print("| setting | default | the veto (s32) | this | this - veto |\n|---|---|---|---|---|")
    tot_v = tot_n = 0; below = []; falls = []; mismatch = 0
    for s, rs in recs.items():
        g0 = [r["gain_default"] for r in rs]
        if s in veto:
            old = {r["seed"]: r for r in veto[s]}
            mismatch += sum(abs(old[r["seed"]]["gain"] - r["gain_default"]) > 1e-9 for r in rs)
            gv = [old[r["seed"]]["gain_prior"] for r in rs]
        else:
            gv = g0
        gn = [r["gain"] for r in rs]
        tot_v += np.mean(gv); tot_n += np.mean(gn)
        if np.mean(gn) < -0.1: below.append(f"{s} {np.mean(gn):+.2f}")
        if np.mean(gn) < np.mean(gv) - 0.3: falls.append(f"{s} {np.mean(gv):+.2f} -> {np.mean(gn):+.2f}")
        print(f"| {s} | {fmt(g0)} | {fmt(gv)} | {fmt(gn)} | {np.mean(gn) - np.mean(gv):+.2f} |")
    print(f"\nsum: veto {tot_v:+.2f}, this {tot_n:+.2f}; below -0.1: {below}; more than 0.3 below the veto: {falls};"
          f" seeds whose default differs from the s32 record: {mismatch}")

D = "/work/notes/s33/"
judge([D + f"{prefix}_{n}.pkl" for n in ("main", "doctor", "phd", "credit", "gss", "college")
       if glob.glob(D + f"{prefix}_{n}.pkl")], "subset")
conf = sorted(glob.glob(D + f"c{prefix}_*.pkl"))
if conf:
    judge(conf, "confirmation")
