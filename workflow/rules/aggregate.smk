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
            labels={"table": "every run"},
        ),
        by_size=report(
            "results/summary_by_size.csv",
            caption="../report/summary_by_size.rst",
            category="Tables",
            labels={"table": "statistics per size"},
        ),
        md=report(
            "results/summary.md",
            caption="../report/summary_md.rst",
            category="Tables",
            labels={"table": "the seed study's tables"},
        ),
        targets=report(
            "results/targets.csv",
            caption="../report/targets.rst",
            category="Tables",
            labels={"table": "time to each target, per run"},
        ),
        targets_by_size=report(
            "results/targets_by_size.csv",
            caption="../report/targets_by_size.rst",
            category="Tables",
            labels={"table": "time to quality per size"},
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
            labels={"record": "machine, software and roofline"},
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


rule config_record:
    input:
        code=tracked_code("config_record.py"),
    output:
        json="results/config.json",
    log:
        "results/logs/config_record.log",
    conda:
        ENV
    params:
        config=config,
    script:
        "../scripts/config_record.py"


rule compare_previous:
    input:
        runs="results/summary.csv",
        by_size="results/summary_by_size.csv",
        config="results/config.json",
        environment="results/environment.json",
        code=tracked_code("compare_previous.py"),
    output:
        md=report(
            "results/comparison.md",
            caption="../report/comparison.rst",
            category="Reproduction",
            labels={"table": "this run against the last archived run"},
        ),
    log:
        "results/logs/compare_previous.log",
    conda:
        ENV
    params:
        archive="results/archive",
    script:
        "../scripts/compare_previous.py"
