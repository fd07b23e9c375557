"""The package's architecture holds: the library a user imports loads none of the harness,
the report, the reproduction tools or the native step, and no module imports another that
imports it back, type-only imports included."""

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

from .conftest import REPO

PACKAGE = REPO / "workflow" / "scripts" / "interp5d"
# what a user's `from interp5d import MLPInterpolator` must not load: the benchmark harness,
# reporting, reproduction, the workflow's parse-time helpers, the native step (ctypes and a
# compiler run; loaded on the first native fit) and psutil (the harness's memory meter)
NOT_ON_IMPORT = ("interp5d.bench", "interp5d.report", "interp5d.repro", "interp5d.pipeline")
NATIVE = ("interp5d.training.engines.native", "interp5d.training.engines.native_lib")


def loaded_after(code: str) -> list[str]:
    """The modules loaded once `code` has run in a fresh interpreter."""
    probe = textwrap.dedent(code) + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def test_importing_the_interpolator_loads_the_library_alone():
    loaded = loaded_after("from interp5d import MLPInterpolator")
    assert "interp5d.interpolator" in loaded
    unwanted = [
        m
        for m in loaded
        if m == "psutil" or m in NATIVE or any(m.startswith(p) for p in NOT_ON_IMPORT)
    ]
    assert unwanted == []


def test_the_native_step_is_loaded_on_the_first_native_fit():
    loaded = loaded_after(
        """
        import numpy as np
        from interp5d import MLPInterpolator
        X = np.random.default_rng(0).uniform(size=(64, 5))
        MLPInterpolator({"epochs": 1, "batch_size": 32, "engine": "native"}).fit(X, X.sum(axis=1))
        """
    )
    assert set(NATIVE) <= set(loaded)


def module_name(path: Path) -> str:
    parts = ["interp5d", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The interp5d modules a file imports anywhere, `if TYPE_CHECKING:` blocks included."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{up}.{base}" if base else up
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in found if m in modules and m != here}


def test_no_import_cycles_type_only_ones_included():
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {m: imports_of(p, set(files)) for m, p in files.items()}
    cycles, state = [], {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = "open"
        for n in sorted(graph[m]):
            if state.get(n) == "open":
                cycles.append([*path[path.index(n) :], n])
            elif n not in state:
                visit(n, [*path, n])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert cycles == []


def test_the_estimators_carry_no_benchmark_hooks():
    """The harness works out records, warm-ups, rooflines and memory estimates from what an
    estimator is (interp5d.bench.harness); the estimators keep scikit-learn's protocol."""
    from interp5d.methods import REGISTRY, method_class

    hooks = (
        "fit_record",
        "loop_roofline",
        "warm_up_params",
        "warm_up_rows",
        "predict_estimate_bytes",
    )
    for name in REGISTRY:
        assert [h for h in hooks if hasattr(method_class(name), h)] == [], name
    assert "measure_memory" not in method_class("mlp")().get_params()


def test_a_model_file_with_the_retired_memory_setting_still_loads(tmp_path):
    import numpy as np
    from interp5d import MLPInterpolator
    from interp5d.methods.base import read_model_file

    X = np.random.default_rng(0).uniform(size=(80, 5))
    path = tmp_path / "m.pt"
    MLPInterpolator({"epochs": 2, "batch_size": 32, "engine": "fast"}).fit(X, X.sum(axis=1)).save(
        path
    )
    # as a model saved before the loop's memory moved to the harness: measure_memory in params
    meta, arrays = read_model_file(path)
    meta["params"]["measure_memory"] = True
    old = MLPInterpolator._from_checked(meta, arrays)
    np.testing.assert_array_equal(old.predict(X), MLPInterpolator.load(path).predict(X))
