"""The multitask influence engine: block-arrow Hessian algebra, model-agnostic,
and the protocol through which a model family hands out its influence pieces."""

from ._arrow import ArrowHessian
from ._protocol import InfluenceAdapter, prediction_losses

__all__ = ["ArrowHessian", "InfluenceAdapter", "prediction_losses"]
