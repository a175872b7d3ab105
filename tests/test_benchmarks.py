"""Every benchmark script still runs: its cheapest mode, in a fresh interpreter.

The benchmarks are not run by CI at full size; these smoke runs catch a script
broken by a change of the library (a renamed private method, a new signature).
Each takes under about 10 s on 2 cores, all of them together under a minute.
"""

import os
import pickle
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# script and arguments of its cheapest mode, and the optional modules it needs
SMOKE_RUNS = {
    "bench_linear speed": (
        ["bench_linear.py", "speed", "--tasks", "3", "--features", "5", "--rows", "20",
         "--repeat", "1", "--repeat-row-side", "1"], []),
    "bench_linear growth": (
        ["bench_linear.py", "growth", "--rows", "5", "--repeat", "1", "--dense-limit", "1200"], []),
    "bench_scale worker": (
        ["bench_scale.py", "worker", "--tasks", "5", "--features", "3", "--rows", "200",
         "--steps", "totals,relatedness,top,stream"], []),
    "bench_grouping sources": (
        ["bench_grouping.py", "sources", "--seeds", "1", "--datasets", "synthetic"], []),
    "compare_relatedness": (
        ["compare_relatedness.py", "--seeds", "1", "--sizes", "60", "--har-seeds", "0"], []),
    "bench_network factorization": (
        ["bench_network.py", "--part", "factorization", "--width", "64", "--proj-dim", "64",
         "--repeat", "1", "--device", "cpu"], ["torch"]),
    "bench_weighting convergence": (
        ["bench_weighting.py", "--quick", "--study", "convergence"], ["torch"]),
    "selection_study paper": (
        ["selection_study.py", "--seeds", "1", "--settings", "exam-10", "--alpha", "1",
         "--steps", "", "--ratios", "0,0.1"], ["torch", "cleanlab"]),
    "selection_study noisy": (
        ["selection_study.py", "--study", "noisy", "--seeds", "1", "--defaults-only",
         "--settings", "synthetic, 20% flips"], ["torch", "cleanlab"]),
    "selection_study noisy-flips": (
        ["selection_study.py", "--study", "noisy-flips", "--seeds", "1",
         "--settings", "synthetic, 20% flips"], ["torch", "cleanlab"]),
    "selection_study noisy-validation": (
        ["selection_study.py", "--study", "noisy-validation", "--seeds", "2",
         "--settings", "synthetic, 20% flips;synthetic regression, 10% outliers"], ["torch"]),
    "selection_study noisy-validation, defaults only": (
        ["selection_study.py", "--study", "noisy-validation", "--seeds", "1", "--defaults-only",
         "--settings", "synthetic, 20% flips"], ["torch"]),
    "selection_study noisy-recipe": (
        ["selection_study.py", "--study", "noisy-recipe", "--seeds", "1",
         "--settings", "synthetic, 20% flips;synthetic regression, 10% outliers"], ["torch"]),
    "selection_study noisy-judges": (
        ["selection_study.py", "--study", "noisy-judges", "--seeds", "2",
         "--settings", "synthetic, clean labels"], ["torch"]),
    "selection_study noisy-within-class": (
        ["selection_study.py", "--study", "noisy-within-class", "--seeds", "1",
         "--settings", "synthetic, 20% flips"], ["torch"]),
    "selection_study noisy-twins": (
        ["selection_study.py", "--study", "noisy-twins", "--seeds", "1",
         "--settings", "synthetic"], ["torch", "cleanlab"]),
}


def _run(script, *args):
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, os.path.join("benchmarks", script), *args],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"{script} {' '.join(args)} failed:\n{result.stderr[-3000:]}"
    assert result.stdout.strip(), f"{script} printed nothing"
    return result.stdout


@pytest.mark.parametrize("name", SMOKE_RUNS)
def test_benchmark_runs(name):
    (script, *args), needs = SMOKE_RUNS[name]
    for module in needs:
        pytest.importorskip(module)
    _run(script, *args)


def test_removal_test_records_are_saved_and_judged_again(tmp_path):
    """``--save-records`` pickles what the report printed from: where the
    current test passed, the default's gain is that of its removal forced,
    and the removal's shares are shares; ``--from-records`` prints the same
    table from them without fitting."""
    pytest.importorskip("torch")
    path = tmp_path / "records.pkl"
    setting = "30% of positives turned negative"  # seeds 0 and 1 pass the test
    printed = _run("selection_study.py", "--study", "noisy-removal-test", "--seeds", "2",
                   "--settings", setting, "--save-records", str(path))
    with open(path, "rb") as file:
        records = pickle.load(file)
    assert list(records) == [setting] and len(records[setting]) == 2
    for seed, record in enumerate(records[setting]):
        assert record["p-values"] is not None
        assert record["default"] == record["forced"]
        assert 0 < record["removed"] < 0.5
        assert 0 <= record["changed"] <= 1 and 0 <= record["held-out changed"] <= 1
        if abs(record["forced"]) > 1:
            assert f"{setting}, seed {seed}: {record['forced']:+.2f}" in printed
    judged_again = _run("selection_study.py", "--study", "noisy-removal-test",
                        "--from-records", str(path))
    assert judged_again.split("Seeds where")[0] == printed.split("Seeds where")[0]
