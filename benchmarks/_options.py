"""Command-line option types shared by the benchmark scripts."""

import argparse


def influence_damping(text):
    """An ``influence_damping`` value from the command line: 'auto', 'none'
    (``None``: the network's ``weight_decay`` alone) or a positive number."""
    if text.lower() in ("auto", "none"):
        return None if text.lower() == "none" else "auto"
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not 'auto', 'none' or a positive number")
    return value
