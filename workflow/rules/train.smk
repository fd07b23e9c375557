rule train_profile:
    input:
        data="results/data/{function}/n{n}_seed{seed}.npz",
        code=module_files(
            "data",
            "experiment",
            "interpolator",
            "metrics",
            "model",
            "profiling",
            "provenance",
            "records",
            "recipes",
            "train",
        ),
    output:
        metrics=f"results/runs/{RUN}/metrics.json",
        history=f"results/runs/{RUN}/history.csv",
        model=f"results/runs/{RUN}/model.pt",
    log:
        f"results/logs/train_profile/{RUN}.log",
    benchmark:
        f"results/benchmarks/train_profile/{RUN}.tsv"
    wildcard_constraints:
        recipe=name_pattern(config["recipes"]),
    conda:
        ENV
    threads: config["threads"]
    resources:
        timed=1,
    params:
        settings=train_settings,
    script:
        "../scripts/train_profile.py"


rule baseline_profile:
    input:
        data="results/data/{function}/n{n}_seed{seed}.npz",
        code=module_files(
            "baselines",
            "baselines_names",
            "data",
            "metrics",
            "profiling",
            "provenance",
            "records",
        ),
    output:
        metrics=f"results/runs/{RUN}/metrics.json",
    log:
        f"results/logs/baseline_profile/{RUN}.log",
    benchmark:
        f"results/benchmarks/baseline_profile/{RUN}.tsv"
    wildcard_constraints:
        recipe=name_pattern(config["baselines"]),
    conda:
        ENV
    threads: config["threads"]
    resources:
        timed=1,
    params:
        settings=baseline_job_settings,
    script:
        "../scripts/baseline_profile.py"
