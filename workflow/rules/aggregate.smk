rule aggregate:
    input:
        metrics=run_files("metrics.json"),
        benchmarks=run_benchmarks(),
        environment="results/environment.json",
        code=tracked_code("aggregate.py"),
    output:
        runs=report(
            "results/summary.csv",
            caption="../report/summary.rst",
            category="Tables",
        ),
        by_size=report(
            "results/summary_by_size.csv",
            caption="../report/summary_by_size.rst",
            category="Tables",
        ),
        md=report(
            "results/summary.md",
            caption="../report/summary_md.rst",
            category="Tables",
        ),
        targets=report(
            "results/targets.csv",
            caption="../report/targets.rst",
            category="Tables",
        ),
        targets_by_size=report(
            "results/targets_by_size.csv",
            caption="../report/targets_by_size.rst",
            category="Tables",
        ),
    log:
        "results/logs/aggregate.log",
    conda:
        ENV
    script:
        "../scripts/aggregate.py"


rule environment:
    input:
        code=tracked_code("environment.py"),
    output:
        json=report(
            "results/environment.json",
            caption="../report/environment.rst",
            category="Environment",
        ),
    log:
        "results/logs/environment.log",
    conda:
        ENV
    params:
        settings={
            "threads": config["threads"],
            "repo": workflow.basedir,
            "shapes": roofline_shapes(config["recipes"], training_rows()),
        },
    script:
        "../scripts/environment.py"
