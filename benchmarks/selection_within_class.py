"""Ranking within each given class where the noisy labels cannot order the classes.

Run by ``python benchmarks/selection_study.py --study noisy-within-class``.
Where the noise model without clean labels reads the noise as alike for every
class and the features predict the given labels no better than each task's
most frequent label (``label_noise_.beats_majority_p_value`` at or above
``BEATS_MAJORITY_LEVEL``), noise alike for every class and a share of one
class turned into the commoner label explain the noisy labels equally well
(``selection_twins.py``). The default then ranks as alike noise implies: the
rarer label's rows first. Measured here against ranking within each given
class there, as a noise rate shared by the given classes implies: each row's
out-of-fold doubt (one minus the probability of its label,
``selection_noisy.confidence``) divided by the mean doubt of its label; the
default's ranking elsewhere. Per classification setting with corrupted rows
(mean over seeds): the share of seeds read so, and the AUC for the corrupted
rows of the default, of the within-class ranking, of out-of-fold confidence
(cleanlab's label quality ranks the same) and of its class-normalized form;
then how many settings each ranking moves by more than 0.05, and in how many
each is within 0.02 of the better confidence rule (item 1 of issue 14).

Last, the level of that test for the other reading: noise is read as one
class turned into another only where the features beat the majority label at
p < ``BEATS_MAJORITY_LEVEL``. Per stricter level, the default's ranking where
a seed read so with p at or above it is replaced by the default forced alike
(``noise_kind="alike"``, what that level would give there); the table counts
the settings within 0.02 of the better confidence rule, those falling by more
than 0.05 and those that drop out of that margin.
"""

import numpy as np
from joblib import Parallel, delayed

from skmtl import MultiTaskLogistic
from skmtl.selection import MTIFSelector
from skmtl.selection._noise import BEATS_MAJORITY_LEVEL

from selection_noisy import SETTINGS, auc_of_corrupted, confidence, divided_by_class_mean, prepare

RULES = ("default", "within each class where unordered", "out-of-fold confidence",
         "confidence / class mean")
STRICTER_LEVELS = (0.05, 0.01, 0.001)


def _seed(setting, seed):
    d = prepare(setting, seed)
    X, y, bad = d["X"], d["y"], d["bad"]
    model = MultiTaskLogistic()
    selector = MTIFSelector(model, removal_ratio=0.0, random_state=seed).fit(X, y)
    noise = selector.label_noise_
    unordered = (noise.noise_kind == "alike"
                 and noise.beats_majority_p_value >= BEATS_MAJORITY_LEVEL)
    conf = confidence(model, X, y, seed)
    within = -divided_by_class_mean(1 - conf, y) if unordered else selector.scores_
    scores = (selector.scores_, within, conf, divided_by_class_mean(conf, y))
    aucs = [auc_of_corrupted(bad, s) for s in scores]
    if noise.noise_kind == "class-conditional":
        alike = MTIFSelector(model, removal_ratio=0.0, random_state=seed, noise_kind="alike")
        alike_auc = auc_of_corrupted(bad, alike.fit(X, y).scores_)
        stricter = [aucs[0] if noise.beats_majority_p_value < level else alike_auc
                    for level in STRICTER_LEVELS]
    else:
        stricter = [aucs[0]] * len(STRICTER_LEVELS)
    return unordered, aucs, stricter


def within_class_report(settings, seeds, jobs=1):
    """Print the table and the summary; return the mean AUCs per setting."""
    settings = [s for s in settings if not SETTINGS[s][2] and SETTINGS[s][1] != "none"]
    runs = Parallel(n_jobs=jobs)(delayed(_seed)(s, k) for s in settings for k in range(seeds))
    print(f"## Ranking within each given class where the classes cannot be ordered ({seeds} seeds)\n")
    print("| setting | seeds read so | " + " | ".join(RULES) + " |")
    print("|---" * (len(RULES) + 2) + "|")
    means, stricter = {}, []
    for i, setting in enumerate(settings):
        mine = runs[i * seeds:(i + 1) * seeds]
        means[setting] = np.mean([aucs for _, aucs, _ in mine], axis=0)
        stricter.append(np.mean([levels for _, _, levels in mine], axis=0))
        print(f"| {setting} | {np.mean([u for u, _, _ in mine]):.0%} | "
              + " | ".join(f"{a:.3f}" for a in means[setting]) + " |")
    table = np.array(list(means.values()))
    moved = table[:, 1] - table[:, 0]
    best = table[:, 2:].max(axis=1)
    print(f"\nWithin each class against the default: {int((moved > 0.05).sum())} settings up by "
          f"more than 0.05 (at most {moved.max():+.3f}), {int((moved < -0.05).sum())} down by more "
          f"than 0.05 (at most {moved.min():+.3f}), of {len(settings)}; summed AUC "
          f"{table[:, 0].sum():.2f} -> {table[:, 1].sum():.2f}.")
    print("Within 0.02 of the better confidence rule: " + ", ".join(
        f"{rule} {int((table[:, j] >= best - 0.02).sum())}" for j, rule in enumerate(RULES[:2]))
        + f" of {len(settings)}.")
    _levels_report(table, np.array(stricter), best, settings)
    return means


def _levels_report(table, stricter, best, settings):
    """The class-conditional reading's level: the default now against each stricter level."""
    now = table[:, 0]
    near = now >= best - 0.02
    print(f"\n## Stricter levels for reading one class as another (now p < {BEATS_MAJORITY_LEVEL})\n")
    print("| level | within 0.02 of the better confidence rule | summed AUC | settings falling "
          "by more than 0.05 | settings dropping out |")
    print("|---|---|---|---|---|")
    print(f"| {BEATS_MAJORITY_LEVEL} (now) | {int(near.sum())} | {now.sum():.2f} | - | - |")
    for j, level in enumerate(STRICTER_LEVELS):
        aucs = stricter[:, j]
        falls = [s for s, a, b in zip(settings, now, aucs) if b < a - 0.05]
        dropped = [s for s, n, b, top in zip(settings, near, aucs, best) if n and b < top - 0.02]
        print(f"| {level} | {int((aucs >= best - 0.02).sum())} | {aucs.sum():.2f} | "
              f"{len(falls)} | {len(dropped)}{' (' + '; '.join(dropped) + ')' if dropped else ''} |")
