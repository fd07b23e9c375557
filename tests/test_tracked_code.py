"""Each rule's tracked code is exactly what its jobs import: derived from the imports at
parse time (interp5d.pipeline.codegraph), checked here against what real jobs loaded."""

import json
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import yaml
from interp5d import get_function
from interp5d.pipeline.codegraph import closure, direct_imports

from .conftest import copy_workflow, snakemake
from .test_workflow import TINY

# At the exit of every job's script: the interp5d files it loaded, and the code files the
# job's rule tracked for it (its input `code`), each as its path inside the package (an
# editable install may serve the modules from the repository rather than this copy).
SITECUSTOMIZE = textwrap.dedent(
    """
    import atexit, json, os, sys

    def _record():
        main = sys.modules.get("__main__")
        job = getattr(main, "snakemake", None)
        if job is None or "code" not in job.input.keys():
            return
        def rel(path):
            return os.path.realpath(path).split(os.sep + "interp5d" + os.sep, 1)[1]

        loaded = sorted(
            rel(m.__file__)
            for name, m in list(sys.modules.items())
            if (name == "interp5d" or name.startswith("interp5d.")) and getattr(m, "__file__", None)
        )
        if "training/engines/native_lib.py" in loaded:  # the C it compiles and runs is its code too
            native = sys.modules["interp5d.training.engines.native_lib"]
            loaded = sorted([*loaded, *(rel(source) for source in native.SOURCES)])
        out = os.path.join(os.environ["INTERP5D_IMPORT_LOG"], f"{os.getpid()}.json")
        with open(out, "w") as fh:
            json.dump({"rule": job.rule, "wildcards": dict(job.wildcards), "loaded": loaded,
                       "tracked": sorted(rel(p) for p in job.input.code)}, fh)

    atexit.register(_record)
    """
)


@pytest.mark.workflow
def test_every_job_tracks_exactly_the_code_it_imports(tmp_path, monkeypatch):
    (tmp_path / "wf").mkdir()
    d = copy_workflow(tmp_path / "wf")
    X, y, _ = get_function("friedman1").sample(80, seed=1)
    pd.DataFrame(X, columns=list("abcde")).assign(t=y).to_csv(d / "mine.csv", index=False)
    pd.DataFrame(X[:3], columns=list("abcde")).to_csv(d / "points.csv", index=False)
    cfg = {
        **TINY,
        "sizes": [60],
        "seeds": [1],
        "recipes": {"tuned": TINY["recipes"]["tuned"]},
        "baselines": {"ols": {}, "sklearn_mlp": {"max_iter": 3}, "rbf": {"smoothing": [0.1]}},
        "datasets": {"mine": {"path": "mine.csv", "target_column": "t"}},
        "predictions": {
            f"by_{m}": {"dataset": "mine", "n": 60, "method": m, "seed": 1, "points": "points.csv"}
            for m in ("tuned", "rbf")
        },
    }
    (d / "config.yaml").write_text(yaml.safe_dump(cfg))
    hook, logs = tmp_path / "hook", tmp_path / "imports"
    hook.mkdir()
    logs.mkdir()
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
    monkeypatch.setenv("PYTHONPATH", str(hook))
    monkeypatch.setenv("INTERP5D_IMPORT_LOG", str(logs))
    snakemake(d, "--cores", "2")
    jobs = [json.loads(p.read_text()) for p in logs.glob("*.json")]
    rules = {j["rule"] for j in jobs}
    assert rules == {
        "generate_dataset",
        "subsample_dataset",
        "train_profile",
        "aggregate",
        "environment",
        "plot_summary",
        "plot_learning_curves",
        "plot_time_to_quality",
        "predict",
        "config_record",
        "compare_previous",
        "table_html",
        "front_page",
    }
    methods = {j["wildcards"]["method"] for j in jobs if j["rule"] == "train_profile"}
    assert methods == {"tuned", "ols", "sklearn_mlp", "rbf"}
    for job in jobs:
        assert job["loaded"], job
        missing = sorted(set(job["loaded"]) - set(job["tracked"]))
        unused = sorted(set(job["tracked"]) - set(job["loaded"]))
        assert not missing and not unused, (job["rule"], job["wildcards"], missing, unused)


def test_closure_follows_relative_lazy_and_function_level_imports(tmp_path):
    pkg = tmp_path / "interp5d"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text('_EXPORTS = {"Thing": "lazy"}\n')
    (pkg / "a.py").write_text("from .b import x\n\ndef f():\n    from . import c\n")
    (pkg / "b.py").write_text(
        "import numpy\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from . import unused\nelse:\n    from . import lazy\nx = 1\n"
    )
    (pkg / "c.py").write_text("from .sub.d import y\n")
    (pkg / "lazy.py").write_text("")
    (pkg / "unused.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "d.py").write_text("from ..b import x\ny = x\n")
    script = tmp_path / "script.py"
    script.write_text("from interp5d.a import f\nfrom interp5d import Thing\n")
    assert direct_imports(script.resolve(), pkg) == {"interp5d", "interp5d.a", "interp5d.lazy"}
    got = [p.relative_to(pkg).as_posix() for p in closure([script], root=pkg)]
    assert got == ["__init__.py", "a.py", "b.py", "c.py", "lazy.py", "sub/__init__.py", "sub/d.py"]
    # b's TYPE_CHECKING import never runs (unused.py), its else does (lazy.py)
    assert [Path(p).name for p in closure([], ["interp5d.sub.d"], root=pkg)] == [
        "__init__.py",
        "b.py",
        "lazy.py",
        "__init__.py",
        "d.py",
    ]
