"""Which interp5d source files a workflow script runs: the transitive closure of its
imports, read from the code itself (ast), so that a rule reruns when any of them changes.

Imports anywhere in a file count, inside functions too; not those under `if TYPE_CHECKING:`,
which never run. What the code cannot show, a
method class the registry imports by name, the caller adds as an extra module.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable
from pathlib import Path

PACKAGE = "interp5d"
ROOT = Path(__file__).resolve().parents[1]  # the package's folder
# code a module runs that is not Python (no import shows it), beside the module's file:
# native_lib compiles this C
COMPANIONS = {
    "interp5d.training.engines.native_lib": (
        "native_step.c",
        "gp_point.c",
        "mlp_point.c",
        "gp_corr.c",
    )
}


def module_file(module: str, root: Path = ROOT) -> Path | None:
    """The file of an interp5d module or package, or None when there is none."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    base = root.joinpath(*parts[1:])
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _module_name(path: Path, root: Path) -> tuple[str, bool]:
    """(dotted name, is a package) of a file inside the package."""
    rel = path.relative_to(root).with_suffix("")
    parts = [PACKAGE, *rel.parts]
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def _lazy_exports(root: Path) -> dict[str, str]:
    """The package __init__'s _EXPORTS table: attribute -> submodule (imported on access)."""
    tree = ast.parse((root / "__init__.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in targets):
                return ast.literal_eval(node.value)
    return {}


def _type_checking_only(node: ast.AST) -> bool:
    """An `if TYPE_CHECKING:` block: its imports are for type checkers and never run."""
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _run_nodes(tree: ast.AST):
    """Every node of the tree but the bodies of `if TYPE_CHECKING:` (their else runs)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if _type_checking_only(node):
            todo += node.orelse
        else:
            todo += ast.iter_child_nodes(node)


@functools.cache
def direct_imports(path: Path, root: Path = ROOT) -> frozenset[str]:
    """The interp5d modules one file imports, anywhere in it."""
    here, is_pkg = _module_name(path, root) if path.is_relative_to(root) else ("", False)
    package = here if is_pkg else here.rpartition(".")[0]
    found: set[str] = set()
    for node in _run_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            found.add(mod)
            # `from pkg import name`: name may be a submodule, or a lazy export of interp5d
            for alias in node.names:
                sub = f"{mod}.{alias.name}"
                if module_file(sub, root) is not None:
                    found.add(sub)
                elif mod == PACKAGE and alias.name in _lazy_exports(root):
                    found.add(f"{PACKAGE}.{_lazy_exports(root)[alias.name]}")
    return frozenset(m for m in found if m.split(".")[0] == PACKAGE)


def _with_parents(module: str) -> list[str]:
    """A module and the packages above it, which importing it runs first."""
    parts = module.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def closure(scripts: Iterable[str | Path] = (), modules: Iterable[str] = (), root: Path = ROOT):
    """Sorted interp5d files that the scripts and modules import, directly or not (the
    modules' own files included), with the files COMPANIONS names for them."""
    todo = [m for m in modules]
    for script in scripts:
        todo += direct_imports(Path(script).resolve(), root)
    seen: dict[str, Path] = {}
    while todo:
        for mod in _with_parents(todo.pop()):
            path = module_file(mod, root)
            if path is None or mod in seen:
                continue
            seen[mod] = path
            todo += direct_imports(path, root)
    extra = [seen[mod].parent / name for mod in seen for name in COMPANIONS.get(mod, ())]
    return sorted([*seen.values(), *(p for p in extra if p.is_file())])
