rule train_profile:
    input:
        data="results/data/{dataset}/n{n}_seed{seed}.npz",
        code=method_code,
    output:
        metrics=f"results/runs/{RUN}/metrics.json",
        history=f"results/runs/{RUN}/history.csv",
        curve=f"results/runs/{RUN}/curve.csv",
        model=f"results/runs/{RUN}/model.pt",
    log:
        f"results/logs/train_profile/{RUN}.log",
    benchmark:
        f"results/benchmarks/train_profile/{RUN}.tsv"
    wildcard_constraints:
        method=name_pattern(METHODS),
    conda:
        ENV
    threads: config["threads"]
    resources:
        timed=1,
    params:
        settings=train_settings,
    script:
        "../scripts/train_profile.py"
