"""The data set shifts of the synthetic generators: covariate shift, model shift, sizes."""

import hashlib

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skmtl.datasets import make_multitask_classification, make_multitask_regression


def digest(*arrays):
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


@pytest.mark.parametrize("shift", [{}, {"covariate_shift": 1.0}])
def test_no_shift_leaves_the_data_bit_identical(shift):
    # digests of the generators' outputs before covariate_shift existed
    reg = make_multitask_regression(n_tasks=4, n_samples=[5, 7, 3, 6], n_features=3, coef=True,
                                    random_state=0, **shift)
    binary = make_multitask_classification(n_tasks=4, n_samples=[5, 7, 3, 6], n_features=3,
                                           coef=True, random_state=1, **shift)
    multi = make_multitask_classification(n_tasks=3, n_samples=6, n_features=4, n_classes=3,
                                          coef=True, random_state=2, **shift)
    assert digest(*reg) == "91e9b7b7d791ebc6"
    assert digest(*binary) == "0a151cc681f4c503"
    assert digest(*multi) == "4d025f004ec6f6bd"


@pytest.mark.parametrize("n_features", [4, 5])
def test_covariate_shift_stretches_half_the_directions_of_every_task_but_the_first(n_features):
    lam = 2.0
    X, y, theta, _ = make_multitask_regression(
        n_tasks=3, n_samples=20000, n_features=n_features, covariate_shift=lam, noise=0.0,
        coef=True, random_state=0,
    )
    F, task = X[:, :-1], X[:, -1].astype(int)
    assert_allclose(y, np.einsum("nd,nd->n", F, theta[task]))  # the tasks' models are unchanged
    half = n_features // 2
    expected = np.sort(np.r_[[lam**-2] * half, [1.0] * (n_features - 2 * half), [lam**2] * half])
    assert_allclose(np.linalg.eigvalsh(np.cov(F[task == 0].T)), 1.0, rtol=0.06)
    eigvecs = []
    for k in (1, 2):
        values, vectors = np.linalg.eigh(np.cov(F[task == k].T))
        assert_allclose(values, expected, rtol=0.06)
        eigvecs.append(vectors[:, -1])
    # each task has its own random rotation
    assert abs(eigvecs[0] @ eigvecs[1]) < 0.99


def test_classification_takes_the_covariate_shift():
    X, _ = make_multitask_classification(n_tasks=2, n_samples=5000, n_features=2,
                                         covariate_shift=3.0, random_state=0)
    values = np.linalg.eigvalsh(np.cov(X[X[:, -1] == 1, :-1].T))
    assert_allclose(values, [1 / 9, 9], rtol=0.06)
    X0, _ = make_multitask_classification(n_tasks=2, n_samples=5000, n_features=2, random_state=0)
    assert_array_equal(X[X[:, -1] == 0], X0[X0[:, -1] == 0])


def test_covariate_shift_must_be_positive():
    with pytest.raises(ValueError, match="covariate_shift"):
        make_multitask_regression(covariate_shift=0)


def test_generator_sizes_and_the_share_of_unrelated_tasks():
    with pytest.raises(ValueError, match="whole numbers of rows"):
        make_multitask_regression(n_tasks=2, n_samples=[5.9, 3.2])
    with pytest.raises(ValueError, match="one per task \\(n_tasks=3\\); got 2 sizes"):
        make_multitask_regression(n_tasks=3, n_samples=[5, 3])
    for epsilon, n_unrelated in ((0.05, 1), (0.15, 2), (0.25, 3)):
        unrelated = make_multitask_regression(n_tasks=10, epsilon=epsilon, coef=True, random_state=0)[3]
        assert unrelated.sum() == n_unrelated
    # more classes: h is the norm of a task's whole perturbation
    theta, unrelated = make_multitask_classification(n_tasks=20, n_classes=3, n_features=4, h=1.0,
                                                     epsilon=0, coef=True, random_state=0)[2:]
    base = np.zeros((3, 4))
    base[np.arange(3), np.arange(3)] = 3.0
    np.testing.assert_allclose(np.linalg.norm((theta - base).reshape(20, -1), axis=1), 1.0)
