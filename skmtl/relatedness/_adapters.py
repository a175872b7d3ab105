"""Per-task losses and gradients on the shared parameters, through the influence protocol.

Every gradient-based measure (cosine, TAG, Grad-TAE) is written once against
:class:`skmtl.influence.InfluenceAdapter`, which each model family hands out
from ``estimator.get_influence_adapter()``: the measures read nothing else of
the estimator. An adapter may provide only part of the protocol (a network
gives ``task_terms`` on its bottom's parameters for the gradient cosine and
``output_gradients`` on all its parameters for Grad-TAE, but no
``shifted_losses``); TAG may instead be recorded during training in a
fitted attribute ``tag_affinity_``.
"""

from sklearn.utils.validation import check_is_fitted

from ..influence import InfluenceAdapter


def adapter_for(estimator, needs=()):
    """The influence adapter of a fitted estimator, or a TypeError.

    ``needs``: optional protocol parts the measure calls beyond ``data``,
    ``train_data`` and ``task_terms``; an adapter without them is refused
    with a TypeError naming what is missing.
    """
    check_is_fitted(estimator)
    if hasattr(estimator, "steps"):
        raise TypeError(
            "This measure reads the gradients of the model, which a Pipeline does not hand "
            "out: give it the model and the data as the model sees them, e.g. "
            "(pipe[-1], pipe[:-1].fit_transform(X, y), y, pipe[:-1].transform(X_val), y_val). "
            "The subset-based measures (surrogate_affinity, higher_order_affinity) take the "
            "Pipeline itself."
        )
    adapter = getattr(estimator, "get_influence_adapter", lambda: None)()
    if not isinstance(adapter, InfluenceAdapter):
        raise TypeError(
            f"{type(estimator).__name__} gives no per-task gradients on shared "
            "parameters: this measure needs an estimator whose get_influence_adapter() "
            "returns a skmtl.influence.InfluenceAdapter (every skmtl estimator). The "
            "subset-based measures (surrogate_affinity, higher_order_affinity) work with "
            "any estimator."
        )
    missing = adapter.missing(*needs)
    if missing:
        raise TypeError(
            f"This measure needs {', '.join(missing)} of the model, which "
            f"{type(estimator).__name__} does not provide; use a measure that needs less: "
            "cosine_affinity, surrogate_affinity or higher_order_affinity (or, for TAG, a "
            "model that records tag_affinity_ during training, e.g. "
            "SharedBottomNet(record_affinity='lookahead'))."
        )
    return adapter


def as_output(matrix, tasks, as_frame):
    """Return a task-by-task matrix, as a DataFrame labelled by task when asked."""
    if not as_frame:
        return matrix
    import pandas as pd

    index = pd.Index(tasks, name="source")
    return pd.DataFrame(matrix, index=index, columns=pd.Index(tasks, name="target"))
