"""Plots of task relatedness and influence, following scikit-learn's Display API.

matplotlib is imported only when a plot is drawn, so importing this module
does not need it (``pip install ".[plot]"`` from the repository root
installs it).
"""

from ._influence import InfluenceDisplay
from ._relatedness import TaskRelatednessDisplay

__all__ = ["TaskRelatednessDisplay", "InfluenceDisplay"]
