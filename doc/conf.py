"""Sphinx configuration of the skmtl documentation (``make -C doc html``)."""

import os
import re
import sys

sys.path.insert(0, os.path.abspath(".."))

import skmtl  # noqa: E402

project = "skmtl"
author = "the skmtl developers"
copyright = "the skmtl developers, BSD-3-Clause"
release = version = skmtl.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path = []

# the API reference: one generated page per public name (see api.rst)
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
default_role = "literal"

# References to other projects' objects (scikit-learn, NumPy, matplotlib,
# joblib, imbalanced-learn, threadpoolctl) have no target in this offline
# build (no intersphinx): do not report them in nitpicky (-n) builds.
nitpick_ignore_regex = [
    (r"py:.*", r"(sklearn|numpy|matplotlib|joblib|imblearn|threadpoolctl)(\..*)?"),
]

# the gallery: every examples/plot_*.py script is run and its figures kept
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "doc_module": ("skmtl",),
    "reference_url": {"skmtl": None},
    "backreferences_dir": "generated/backreferences",
    "remove_config_comments": True,
    "show_memory": False,
}

# the examples run with the non-interactive backend
os.environ.setdefault("MPLBACKEND", "Agg")


# Methods inherited from scikit-learn (get_params, score, set_fit_request, ...)
# keep their docstrings, whose :ref: and :term: roles point at labels of
# scikit-learn's own site; keep their text so that they do not dangle here.
_SKLEARN_ROLE = re.compile(r":(?:ref|term):`([^`<]*?)\s*(?:<[^`>]*>)?`")


def _plain_sklearn_roles(app, what, name, obj, options, lines):
    if (getattr(obj, "__module__", None) or "").startswith("sklearn."):
        lines[:] = [_SKLEARN_ROLE.sub(lambda m: m.group(1), line) for line in lines]


def setup(app):
    app.connect("autodoc-process-docstring", _plain_sklearn_roles)
