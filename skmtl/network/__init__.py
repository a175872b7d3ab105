"""Multitask networks in torch: shared bottom, one head per task, with MTIF.

This is the only part of skmtl that imports torch; ``skmtl.SharedBottomNet``
loads it on first access.
"""

from ._net import SharedBottomNet

__all__ = ["SharedBottomNet"]
