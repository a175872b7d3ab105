"""skmtl: multitask learning for scikit-learn, with multitask influence functions.

``import skmtl`` never imports torch or matplotlib: ``skmtl.SharedBottomNet``
loads torch on first access, and plots load matplotlib when drawn.
"""

from ._config import config_context, get_config, set_config
from .linear_model import MultiTaskLogistic, MultiTaskPoisson, MultiTaskRidge
from .grouping import TaskGroupedEstimator
from .selection import MTIFSelector

__version__ = "0.1.0"

__all__ = [
    "MultiTaskRidge", "MultiTaskLogistic", "MultiTaskPoisson", "MTIFSelector", "SharedBottomNet",
    "TaskGroupedEstimator",
    "config_context", "get_config", "set_config",
]


def __getattr__(name):
    if name == "SharedBottomNet":
        from .network import SharedBottomNet

        return SharedBottomNet
    raise AttributeError(f"module 'skmtl' has no attribute {name!r}")
