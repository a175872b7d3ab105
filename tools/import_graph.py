"""Print skmtl's import graph between packages and flag what crosses a package's wall.

A package is a folder under ``skmtl/`` or a top-level module (``skmtl/base.py``
is ``base``). For each package the table lists the packages it imports
(lazy imports inside functions included) and every *private* name it takes
from another package: an import through a module or name with a leading
underscore (``from ..utils._tasks import x``, ``from ..x import _y``), or an
attribute with a leading underscore read from an object other than
``self``/``cls`` that no module of the package defines (``estimator._theta``
read in ``relatedness``). The root package (``skmtl/__init__.py`` and the
private top-level modules such as ``_config``) is every package's parent: importing
from it crosses no wall, as ``sklearn._config`` does not for scikit-learn. It also lists the modules over ``--max-lines``.

Usage: ``python tools/import_graph.py [ROOT] [--max-lines 600]`` where ROOT
is a checkout (default: this one). Exit status 1 when a private name
crosses a package wall in ``--strict`` packages (default: relatedness,
plotting, selection, cli).
"""

import argparse
import ast
import pathlib
import sys
from collections import defaultdict


ROOT = "skmtl"


def _package(path, src):
    rel = path.relative_to(src).parts
    if len(rel) > 1:
        return rel[0]
    # __init__.py and the private top-level modules (_config) are the root package
    # every package lives in, as sklearn/_config.py is for scikit-learn's modules
    return ROOT if _private(path.stem) or path.stem == "__init__" else path.stem


def _module_name(path, src):
    rel = path.relative_to(src.parent).with_suffix("").parts
    return ".".join(rel[:-1] if rel[-1] == "__init__" else rel)


def _resolve(node, module, is_package):
    """Absolute module path of an ``ImportFrom`` node."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _private(part):
    return part.startswith("_") and not part.startswith("__")


def _defined_private_attributes(tree):
    """Names with a leading underscore that a module defines or relies on: functions,
    classes, assignments, attributes it assigns (``self._x = ...``) and those its
    classes read from ``self`` (a base class's contract with its subclasses)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and (
                isinstance(node.ctx, ast.Store)
                or isinstance(node.value, ast.Name) and node.value.id == "self"):
            names.add(node.attr)
    return {n for n in names if _private(n)}


def analyse(root):
    src = pathlib.Path(root) / "skmtl"
    files = sorted(src.rglob("*.py"))
    trees = {path: ast.parse(path.read_text(), str(path)) for path in files}
    defined = defaultdict(set)
    for path, tree in trees.items():
        defined[_package(path, src)] |= _defined_private_attributes(tree)
    edges, private, sizes = defaultdict(set), defaultdict(set), {}
    for path, tree in trees.items():
        pkg = _package(path, src)
        module = _module_name(path, src)
        sizes[str(path.relative_to(src.parent))] = len(path.read_text().splitlines())
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.ImportFrom):
                base = _resolve(node, module, path.name == "__init__.py")
                targets = [(base, alias.name) for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [(alias.name, None) for alias in node.names]
            for base, name in targets:
                parts = base.split(".")
                if parts[0] != "skmtl" or len(parts) < 2:
                    if parts[0] == "skmtl" and name:  # from skmtl import X / from .. import X
                        parts = ["skmtl", name]
                        name = None
                    else:
                        continue
                other = ROOT if _private(parts[1]) else parts[1]
                if other in (pkg, ROOT):
                    continue
                edges[pkg].add(other)
                through = parts[1:] + ([name] if name else [])
                if any(_private(part) for part in through):
                    private[pkg].add(f"import {'.'.join(parts)}" + (f": {name}" if name else ""))
            if (isinstance(node, ast.Attribute) and _private(node.attr)
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
                    and node.attr not in defined[pkg]):
                private[pkg].add(f"attribute .{node.attr} ({path.name}:{node.lineno})")
    return edges, private, sizes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", default=pathlib.Path(__file__).resolve().parents[1])
    parser.add_argument("--max-lines", type=int, default=600)
    parser.add_argument("--strict", default="relatedness,plotting,selection,cli")
    args = parser.parse_args(argv)
    edges, private, sizes = analyse(args.root)
    packages = sorted(set(edges) | set(private) | {p for targets in edges.values() for p in targets})
    print("| package | imports | private names of other packages |")
    print("|---|---|---|")
    for pkg in packages:
        names = "; ".join(sorted(private[pkg])) or "-"
        print(f"| {pkg} | {', '.join(sorted(edges[pkg])) or '-'} | {names} |")
    large = {path: n for path, n in sizes.items() if n > args.max_lines}
    print(f"\nmodules over {args.max_lines} lines: "
          + (", ".join(f"{path} ({n})" for path, n in sorted(large.items())) or "none"))
    leaks = [pkg for pkg in args.strict.split(",") if private[pkg]]
    if leaks:
        print(f"private names cross into: {', '.join(leaks)}")
    return 1 if leaks else 0


if __name__ == "__main__":
    sys.exit(main())
