rule generate_dataset:
    input:
        code=module_files("functions", "data"),
    output:
        data="results/data/{function}/n{n}_seed{seed}.npz",
    log:
        "results/logs/generate_dataset/{function}/n{n}_seed{seed}.log",
    benchmark:
        "results/benchmarks/generate_dataset/{function}/n{n}_seed{seed}.tsv"
    wildcard_constraints:
        function=name_pattern(config["functions"]),
    conda:
        ENV
    script:
        "../scripts/generate_dataset.py"


rule subsample_dataset:
    input:
        source=dataset_file,
        code=module_files("data"),
    output:
        data="results/data/{function}/n{n}_seed{seed}.npz",
    log:
        "results/logs/subsample_dataset/{function}/n{n}_seed{seed}.log",
    benchmark:
        "results/benchmarks/subsample_dataset/{function}/n{n}_seed{seed}.tsv"
    wildcard_constraints:
        function=name_pattern(config["datasets"]),
    conda:
        ENV
    params:
        settings=dataset_settings,
    script:
        "../scripts/subsample_dataset.py"
