"""The numpydoc sections of every public class and function, and of every public
method of a public class, are complete: checked with ``numpydoc.validate``, the
validator scikit-learn runs on its own docstrings."""

import importlib
import inspect
import pkgutil

import pytest
from test_docs import _public_names

numpydoc_validation = pytest.importorskip("numpydoc.validate")

# modules without a leading underscore that are not API: the estimators' shared
# machinery, and the command line (documented by its --help)
NOT_API = {"skmtl.base", "skmtl.cli"}


def _public_modules():
    """``skmtl`` and every module below it with no ``_`` path component, but NOT_API."""
    import skmtl

    found = pkgutil.walk_packages(skmtl.__path__, "skmtl.", onerror=lambda name: None)
    names = [info.name for info in found
             if not any(part.startswith("_") for part in info.name.split("."))]
    return ["skmtl"] + sorted(set(names) - NOT_API)


# the numpydoc checks that must pass (numpydoc.validate.ERROR_MSGS has the wording);
# style checks (capitals, full stops, See Also, extended summaries) are not enforced
CHECKS = {
    "GL08",  # the object has a docstring
    "SS01",  # it starts with a summary line
    "PR01",  # every parameter of the signature is documented ...
    "PR02",  # ... and every documented parameter is in the signature
    "PR04",  # every documented parameter has a type
    "RT01",  # a function that returns something has a Returns section
    "YD01",  # a generator has a Yields section
    "EX01",  # an Examples section: classes and functions only (a method's is its class's)
}

def _public_methods(cls):
    """Public methods that skmtl writes (not those inherited from scikit-learn)."""
    for name in sorted(dir(cls)):
        if name.startswith("_") or isinstance(inspect.getattr_static(cls, name), property):
            continue
        method = getattr(cls, name)
        if callable(method) and getattr(method, "__module__", "").startswith("skmtl"):
            yield name


def _documented_objects():
    """``(import path, is a method)`` of every public object, each object once."""
    seen = set()
    for module_name in _public_modules():
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # skmtl.network without torch
            continue
        for name in _public_names(module):
            obj = getattr(module, name)
            if id(obj) in seen or not callable(obj):
                continue
            seen.add(id(obj))
            yield f"{module_name}.{name}", False
            if inspect.isclass(obj):
                for method in _public_methods(obj):
                    yield f"{module_name}.{name}.{method}", True


def _params():
    for path, is_method in _documented_objects():
        yield pytest.param(path, is_method, id=path)


@pytest.mark.parametrize("path, is_method", _params())
def test_numpydoc_sections(path, is_method):
    result = numpydoc_validation.validate(path)
    checks = CHECKS - {"EX01"} if is_method else CHECKS
    errors = [f"{code}: {message}" for code, message in result["errors"] if code in checks]
    location = f"{result['file']}:{result['file_line']}"
    assert not errors, f"{path} ({location}):\n" + "\n".join(errors)
