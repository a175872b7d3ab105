"""The public influence protocol: adapters, check_influence_estimator, the public task helpers."""

import numpy as np
import pytest

from skmtl import MultiTaskLogistic, MultiTaskPoisson, MultiTaskRidge
from skmtl.datasets import make_multitask_regression
from skmtl.influence import InfluenceAdapter
from skmtl.model_selection import holdout_candidates
from skmtl.relatedness import cosine_affinity
from skmtl.utils import TaskLayout, task_groups
from skmtl.utils.estimator_checks import check_influence_estimator


@pytest.mark.parametrize("estimator", [MultiTaskRidge(), MultiTaskLogistic(), MultiTaskPoisson()])
def test_check_influence_estimator_passes_for_the_linear_models(estimator):
    check_influence_estimator(estimator)


def test_check_influence_estimator_passes_for_a_network():
    torch = pytest.importorskip("torch")
    from skmtl.network import SharedBottomNet

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        net = SharedBottomNet(
            hidden_layer_sizes=(4,), activation="logistic", solver="lbfgs", max_epochs=300,
            tol=1e-10, weight_decay=0.2, dtype="float64", projection_dim=None, random_state=0,
            device="cpu",
        )
        # warm-started refits; 0.988 measured on 8 of them
        check_influence_estimator(net, n_refits=8, min_correlation=0.95)
    finally:
        torch.set_num_threads(threads)


class _FlippedGradients(MultiTaskRidge):
    """A ridge model whose adapter reports every gradient with the wrong sign."""

    def get_influence_adapter(self):
        adapter = super().get_influence_adapter()

        class Flipped(type(adapter)):
            def task_terms(self, data, params=None, hessian=False):
                losses, grads, *rest = super().task_terms(data, params, hessian)
                return (losses, -grads, *rest)

        return Flipped(self)


class _FlippedInfluence(MultiTaskLogistic):
    """A logistic model whose influence has the wrong sign (its adapter is fine)."""

    def _scorer(self, X_val, y_val, method):
        parts, totals, empty = super()._scorer(X_val, y_val, method)

        def flipped(start, stop, components=False):
            positions, scores, paths = parts(start, stop, components)
            return positions, -scores, paths

        return flipped, lambda weights: None, empty


def test_check_influence_estimator_fails_for_a_wrong_gradient_sign():
    with pytest.raises(AssertionError, match="gradients disagree with finite differences"):
        check_influence_estimator(_FlippedGradients())


def test_check_influence_estimator_fails_for_a_wrong_influence_sign():
    with pytest.raises(AssertionError, match='method="mtif" does not track brute-force refits'):
        check_influence_estimator(_FlippedInfluence())


class _FlippedRelatedness(MultiTaskLogistic):
    """A logistic model (first order and Newton) whose task relatedness has the wrong sign."""

    def task_relatedness(self, X_val=None, y_val=None, *, method="mtif"):
        return -super().task_relatedness(X_val, y_val, method=method)


def test_check_influence_estimator_fails_for_a_wrong_relatedness_sign():
    with pytest.raises(AssertionError, match=r'task_relatedness \(off the diagonal\) with method="mtif" '
                                             "does not track brute-force refits"):
        check_influence_estimator(_FlippedRelatedness())


def test_check_influence_estimator_fails_without_an_adapter():
    class NoAdapter(MultiTaskRidge):
        def get_influence_adapter(self):
            return None

    with pytest.raises(AssertionError, match="does not return a skmtl.influence.InfluenceAdapter"):
        check_influence_estimator(NoAdapter())


def test_adapters_say_what_they_provide():
    X, y = make_multitask_regression(n_tasks=3, n_samples=10, n_features=2, random_state=0)
    adapter = MultiTaskRidge().fit(X, y).get_influence_adapter()
    assert isinstance(adapter, InfluenceAdapter)
    assert adapter.provides("shifted_losses", "training_path", "output_gradients", "loss")
    assert adapter.methods == ("mtif", "exact") and adapter.n_fit_rows == 30

    class Minimal(InfluenceAdapter):
        n_fit_rows = 30

        def data(self, X, y):
            return adapter.data(X, y)

        def train_data(self):
            return adapter.train_data()

        def task_terms(self, data, params=None):
            return adapter.task_terms(data, params)

    minimal = Minimal(adapter.estimator)
    assert minimal.missing("training_path", "loss") == ["training_path", "loss"]
    assert minimal.methods == ("mtif",) and minimal.fit_fingerprint is None
    with pytest.raises(TypeError, match="abstract"):
        type("Incomplete", (InfluenceAdapter,), {})(adapter.estimator)


def test_a_third_party_estimator_joins_relatedness_through_its_adapter():
    X, y = make_multitask_regression(n_tasks=3, n_samples=20, n_features=3, random_state=0)

    class Wrapped(MultiTaskRidge):  # stands for a model outside skmtl: one public method
        def get_influence_adapter(self):
            return MultiTaskRidge.get_influence_adapter(self)

    np.testing.assert_array_equal(cosine_affinity(Wrapped(), X, y), cosine_affinity(MultiTaskRidge(), X, y))

    class Without(MultiTaskRidge):
        def get_influence_adapter(self):
            return object()

    with pytest.raises(TypeError, match="get_influence_adapter"):
        cosine_affinity(Without(), X, y)


def test_the_ground_truth_reads_the_task_column_of_a_model_fitted_without_check_task_X():
    from skmtl.inspection import task_losses

    X, y = make_multitask_regression(n_tasks=3, n_samples=20, n_features=3, random_state=0)
    X = np.column_stack([X[:, -1], X[:, :-1]])  # the task column first
    fitted = MultiTaskRidge(task_col=0).fit(X, y)
    before = task_losses(fitted, X, y)
    del fitted._task_col_index  # as a family that validates X its own way leaves it
    np.testing.assert_array_equal(task_losses(fitted, X, y), before)


def test_holdout_candidates_leave_out_lone_rows_and_rows_without_a_task():
    X = np.array([[0.0, 1], [1.0, 1], [2.0, 2], [3.0, np.nan], [4.0, 3], [5.0, 3], [6.0, 3]])
    assert holdout_candidates(X).tolist() == [True, True, False, False, True, True, True]
    with pytest.raises(ValueError, match="rows but y has"):
        holdout_candidates(X, np.zeros(3))


def test_task_layout_reads_the_task_column_once():
    labels = np.array([2.0, 1.0, np.nan, 2.0, 5.0])
    layout = TaskLayout(labels)
    assert layout.tasks.tolist() == [1.0, 2.0, 5.0]
    assert layout.row_task.tolist() == [1, 0, -1, 1, 2]
    assert layout.missing.tolist() == [False, False, True, False, False]
    assert layout.counts.tolist() == [1, 2, 1]
    assert [(int(k), rows.tolist()) for k, rows in layout.groups()] == [(0, [1]), (1, [0, 3]), (2, [4])]
    fitted = TaskLayout(labels, tasks=np.array([2.0, 7.0]))
    assert fitted.row_task.tolist() == [0, -1, -1, 0, -1] and fitted.counts.tolist() == [2, 0]
    assert list(task_groups(np.array([-1, -1]), 2)) == []
