"""The multitask influence engine: block-arrow Hessian algebra, model-agnostic."""

from ._arrow import ArrowHessian

__all__ = ["ArrowHessian"]
