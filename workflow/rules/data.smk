rule generate_dataset:
    input:
        code=tracked_code("generate_dataset.py"),
    output:
        data="results/data/{dataset}/n{n}_seed{seed}.npz",
    log:
        "results/logs/generate_dataset/{dataset}/n{n}_seed{seed}.log",
    benchmark:
        "results/benchmarks/generate_dataset/{dataset}/n{n}_seed{seed}.tsv"
    wildcard_constraints:
        dataset=name_pattern(synthetic_datasets(config)),
    conda:
        ENV
    params:
        settings=lambda wildcards: synthetic_datasets(config)[wildcards.dataset],
    script:
        "../scripts/generate_dataset.py"


rule subsample_dataset:
    input:
        source=dataset_file,
        code=tracked_code("subsample_dataset.py"),
    output:
        data="results/data/{dataset}/n{n}_seed{seed}.npz",
    log:
        "results/logs/subsample_dataset/{dataset}/n{n}_seed{seed}.log",
    benchmark:
        "results/benchmarks/subsample_dataset/{dataset}/n{n}_seed{seed}.tsv"
    wildcard_constraints:
        dataset=name_pattern(config["datasets"]),
    conda:
        ENV
    params:
        settings=dataset_settings,
    script:
        "../scripts/subsample_dataset.py"
