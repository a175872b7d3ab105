"""Q3 offline: per seed Q1's recorded gain where the default's own reading opens the gate, else the veto's."""
import glob, pickle, numpy as np
D = "/work/notes/s33/"
veto = {}
for f in glob.glob("/work/notes/s32/prior_*.pkl") + glob.glob("/work/notes/s32/fresh_prior_*.pkl"):
    veto.update(pickle.load(open(f, "rb")))

def fmt(v):
    v = np.asarray(v); w = int((v > 1e-9).sum()); l = int((v < -1e-9).sum())
    return f"{v.mean():+.2f} ± {v.std():.2f} [{w}/{len(v) - w - l}/{l}]"

def load(pattern):
    out = {}
    for f in sorted(glob.glob(D + pattern)):
        out.update(pickle.load(open(f, "rb")))
    return out

def judge(q1, gates, title):
    print(f"\n### {title}\n")
    print("| setting | default | the veto (s32) | Q1: the balance fits the matrix everywhere | Q3: only where the data read it | seeds gated |")
    print("|---|---|---|---|---|---|")
    tv = t1 = t3 = 0; below = []; falls = []; n = 0
    for s, rs in q1.items():
        if s not in gates:
            continue
        n += 1
        gate = {r["seed"]: r["gate"] for r in gates[s]}
        g0 = [r["gain_default"] for r in rs]
        gv = ([{o["seed"]: o for o in veto[s]}[r["seed"]]["gain_prior"] for r in rs] if s in veto else g0)
        g1 = [r["gain"] for r in rs]
        g3 = [r["gain"] if gate[r["seed"]] else v for r, v in zip(rs, gv)]
        tv += np.mean(gv); t1 += np.mean(g1); t3 += np.mean(g3)
        if np.mean(g3) < -0.1: below.append(f"{s} {np.mean(g3):+.2f}")
        if np.mean(g3) < np.mean(gv) - 0.3: falls.append(f"{s} {np.mean(gv):+.2f} -> {np.mean(g3):+.2f}")
        print(f"| {s} | {fmt(g0)} | {fmt(gv)} | {fmt(g1)} | {fmt(g3)} | {sum(gate.values())} |")
    print(f"\n{n} settings; sums: veto {tv:+.2f}, Q1 {t1:+.2f}, Q3 {t3:+.2f}; Q3 below -0.1: {below}; "
          f"Q3 more than 0.3 below the veto: {falls}")

judge(load("new_*.pkl"), {k: v for f in ("main", "doctor", "phd", "credit", "gss", "college") for k, v in pickle.load(open(D + f"gate_{f}.pkl", "rb")).items()}, "subset")
judge(load("cnew_*.pkl"), load("gate_c_*.pkl"), "confirmation")
