"""The documentation: the README runs as pasted, every gallery example runs and
ends in a figure, the API reference lists every public name, and the Sphinx site
builds without warnings."""

import doctest
import glob
import importlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = sorted(glob.glob(os.path.join(ROOT, "examples", "plot_*.py")))
ENV = {**os.environ, "MPLBACKEND": "Agg",
       "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}

# modules whose public names the API reference must list
PUBLIC_MODULES = [
    "skmtl", "skmtl.selection", "skmtl.network", "skmtl.influence", "skmtl.inspection",
    "skmtl.relatedness", "skmtl.model_selection", "skmtl.plotting", "skmtl.datasets",
    "skmtl.utils", "skmtl.compose",
]

# run a script as __main__, then fail (status 3) if it left no figure open
RUNNER = (
    "import runpy, sys\n"
    "import matplotlib.pyplot as plt\n"
    "runpy.run_path(sys.argv[1], run_name='__main__')\n"
    "sys.exit(0 if plt.get_fignums() else 3)\n"
)


def _readme_blocks():
    """Every ```python block of README.md, in order."""
    with open(os.path.join(ROOT, "README.md")) as fh:
        return re.findall(r"^```python\n(.*?)^```", fh.read(), flags=re.S | re.M)


def test_readme_runs_top_to_bottom_as_pasted(tmp_path, monkeypatch):
    # one namespace for all blocks, as in one interpreter; a doctest block's
    # printed outputs must match, with the options of setup.cfg's doctests
    pytest.importorskip("torch", reason="the README's network block needs torch")
    pytest.importorskip("matplotlib", reason="the README's tour draws a figure")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)  # the tour saves relatedness.png
    blocks = _readme_blocks()
    assert {">>>" in block for block in blocks} == {True, False}  # doctests and plain code
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    namespace = {"__name__": "__main__"}
    for i, block in enumerate(blocks):
        name = f"README.md, python block {i + 1}"
        if ">>>" in block:
            test = parser.get_doctest(block, namespace, name, "README.md", 0)
            failures = []
            runner.run(test, out=failures.append, clear_globs=False)
            assert not failures, "".join(failures)
            namespace.update(test.globs)  # the test ran in a copy of the namespace
        else:
            exec(compile(block, name, "exec"), namespace)
    import matplotlib.pyplot as plt

    plt.close("all")


def _rst_code_block(page, heading):
    """The first ``.. code-block:: python`` of ``doc/page.rst`` after the line
    ``heading``, dedented."""
    import textwrap

    with open(os.path.join(ROOT, "doc", f"{page}.rst")) as fh:
        text = fh.read()
    after = text[text.index(f"\n{heading}\n"):]
    block = re.search(r"\.\. code-block:: python\n\n((?:(?:   .*)?\n)+)", after).group(1)
    return textwrap.dedent(block)


def test_the_user_guides_alpha_search_runs_as_pasted(capsys):
    exec(compile(_rst_code_block("user_guide", "Choosing ``alpha``"), "user_guide.rst", "exec"),
         {"__name__": "__main__"})
    out = capsys.readouterr().out.strip()  # as its comment says
    assert out in ("{'alpha': np.float64(0.01)}", "{'alpha': 0.01}")


def test_the_network_pages_search_over_task_weighting_runs_as_pasted(capsys):
    pytest.importorskip("torch")
    block = _rst_code_block("network", "dicts:")
    exec(compile(block, "network.rst", "exec"), {"__name__": "__main__"})
    assert capsys.readouterr().out.startswith("{'task_weighting")


def test_there_are_examples():
    names = [os.path.basename(p) for p in EXAMPLES]
    assert {"plot_relatedness_heatmap.py", "plot_influence_vs_loo.py"} <= set(names)


@pytest.mark.parametrize("script", EXAMPLES, ids=os.path.basename)
def test_example_runs_cleanly_and_ends_in_a_figure(script, tmp_path):
    res = subprocess.run([sys.executable, "-c", RUNNER, script], cwd=tmp_path, env=ENV,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode != 3, f"{os.path.basename(script)} draws no figure"
    assert res.returncode == 0, res.stderr[-4000:]
    assert "Warning" not in res.stderr, res.stderr[-4000:]


def _documented_names():
    """``module.name`` of every entry of the autosummary tables of api.rst."""
    with open(os.path.join(ROOT, "doc", "api.rst")) as fh:
        text = fh.read()
    names, module = [], None
    for line in text.splitlines():
        current = re.match(r"\.\. currentmodule:: (\S+)", line)
        if current:
            module = current.group(1)
        elif re.match(r"   [A-Za-z_]\w*$", line):
            names.append(f"{module}.{line.strip()}")
    return names


def _resolve(qualified):
    module, name = qualified.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def _public_names(module):
    """``__all__``, else the public classes and functions the module defines."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return sorted(
        name for name, obj in vars(module).items()
        if not name.startswith("_") and callable(obj)
        and getattr(obj, "__module__", None) == module.__name__
    )


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_api_reference_lists_every_public_name(module_name):
    if module_name == "skmtl.network":
        pytest.importorskip("torch", reason="skmtl.network needs torch (pip install '.[torch]')")
    module = importlib.import_module(module_name)
    documented = _documented_names()
    missing = []
    for name in _public_names(module):
        obj = getattr(module, name)
        # listed under this module or any other path to the same object
        same_name = [d for d in documented if d.rsplit(".", 1)[1] == name]
        if not any(_resolve(d) is obj for d in same_name):
            missing.append(f"{module_name}.{name}")
    assert not missing, f"doc/api.rst does not list {missing}"


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_name_has_a_runnable_example(module_name):
    # the Examples sections run as doctests (--doctest-modules)
    if module_name == "skmtl.network":
        pytest.importorskip("torch", reason="skmtl.network needs torch")
    module = importlib.import_module(module_name)
    without = [name for name in _public_names(module)
               if ">>> " not in (getattr(module, name).__doc__ or "").partition("Examples")[2]]
    assert not without, f"{module_name}: no Examples section in {without}"


def test_api_reference_names_exist():
    for name in _documented_names():
        if name.startswith("skmtl.network."):
            pytest.importorskip("torch", reason="skmtl.network needs torch")
        _resolve(name)  # raises if doc/api.rst names something that is gone


_SPHINX = all(importlib.util.find_spec(m) for m in ("sphinx", "numpydoc", "sphinx_gallery"))


@pytest.mark.skipif(
    not _SPHINX,
    reason="building the docs needs sphinx, numpydoc and sphinx-gallery: pip install -e .[docs]",
)
def test_docs_build_without_warnings(tmp_path):
    # build a copy, so that the generated pages stay out of the source tree; the
    # examples are not run again (plot_gallery=0): the test above runs them
    ignore = shutil.ignore_patterns(
        "_build", "generated", "auto_examples", "sg_execution_times.rst")
    shutil.copytree(os.path.join(ROOT, "doc"), tmp_path / "doc", ignore=ignore)
    shutil.copytree(os.path.join(ROOT, "examples"), tmp_path / "examples")
    out = tmp_path / "html"
    res = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-D", "plot_gallery=0", str(tmp_path / "doc"), str(out)],
        env=ENV, capture_output=True, text=True, timeout=300,
    )
    assert res.returncode == 0, res.stderr[-6000:]
    for page in ["index", "user_guide", "api", "auto_examples/index",
                 "generated/skmtl.plotting.TaskRelatednessDisplay"]:
        assert (out / f"{page}.html").exists(), page
