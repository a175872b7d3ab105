"""Data selection guided by the multitask influence function."""

from ._selector import MTIFSelector

__all__ = ["MTIFSelector"]
