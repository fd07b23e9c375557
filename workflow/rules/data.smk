rule generate_dataset:
    input:
        code=module_files("functions", "data"),
    output:
        data="results/data/{function}/n{n}_seed{seed}.npz",
    log:
        "results/logs/generate_dataset/{function}/n{n}_seed{seed}.log",
    conda:
        ENV
    script:
        "../scripts/generate_dataset.py"
