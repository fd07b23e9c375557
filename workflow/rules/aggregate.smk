rule aggregate:
    input:
        metrics=run_files("metrics.json"),
        benchmarks=run_benchmarks(),
        environment="results/environment.json",
        code=tracked_code("aggregate.py"),
    output:
        runs="results/summary.csv",
        by_size="results/summary_by_size.csv",
        md="results/summary.md",
        targets="results/targets.csv",
        targets_by_size="results/targets_by_size.csv",
        samples_to_quality="results/samples_to_quality.csv",
        which_method="results/which_method.csv",
    log:
        "results/logs/aggregate.log",
    conda:
        ENV
    script:
        "../scripts/aggregate.py"


rule environment:
    input:
        code=tracked_code("environment.py", ROOFLINE_ENGINE),
    output:
        json="results/environment.json",
    log:
        "results/logs/environment.log",
    conda:
        ENV
    # the roofline is a timing: never beside a training job
    resources:
        timed=1,
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


# the report's front page: the description with this run's findings and which-method tables
rule front_page:
    input:
        by_size="results/summary_by_size.csv",
        targets_by_size="results/targets_by_size.csv",
        template="workflow/report/workflow.rst",
        code=tracked_code("front_page.py"),
    output:
        rst=FRONT_PAGE,
    log:
        "results/logs/front_page.log",
    conda:
        ENV
    script:
        "../scripts/front_page.py"


# compares this run with the last archived one, then archives it (when its tables changed)
rule compare_previous:
    input:
        runs="results/summary.csv",
        by_size="results/summary_by_size.csv",
        # the archive's record holds these too
        md="results/summary.md",
        targets_by_size="results/targets_by_size.csv",
        config="results/config.json",
        environment="results/environment.json",
        code=tracked_code("compare_previous.py"),
    output:
        md="results/comparison.md",
    log:
        "results/logs/compare_previous.log",
    conda:
        ENV
    params:
        archive="results/archive",
    script:
        "../scripts/compare_previous.py"


rule table_html:
    input:
        source=report_table_source,
        code=tracked_code("table_html.py"),
    output:
        html=report(
            "results/report/{category}/{table}.html",
            caption="../report/tables.rst",
            category="{category}",
            labels={"table": "{table}"},
        ),
    log:
        "results/logs/table_html/{category}/{table}.log",
    conda:
        ENV
    script:
        "../scripts/table_html.py"
