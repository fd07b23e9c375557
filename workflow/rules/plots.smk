rule plot_summary:
    input:
        by_size="results/summary_by_size.csv",
        code=tracked_code("plot_summary.py"),
    output:
        png=report(
            "figures/{figure}.png",
            caption="../report/figure.rst",
            category="Figures",
            labels={"figure": "{figure}"},
        ),
    log:
        "results/logs/plots/{figure}.log",
    conda:
        ENV
    params:
        settings=config["plots"],
    script:
        "../scripts/plot_summary.py"


rule plot_learning_curves:
    input:
        histories=run_files("history.csv", first_seed_keys()),
        metrics=run_files("metrics.json", first_seed_keys()),
        code=tracked_code("plot_learning_curves.py"),
    output:
        png=report(
            "figures/learning_curves.png",
            caption="../report/learning_curves.rst",
            category="Figures",
            labels={"figure": "learning_curves"},
        ),
    log:
        "results/logs/plots/learning_curves.log",
    conda:
        ENV
    params:
        runs=first_seed_keys(),
        settings=config["plots"],
    script:
        "../scripts/plot_learning_curves.py"


rule plot_time_to_quality:
    input:
        targets_by_size="results/targets_by_size.csv",
        code=tracked_code("plot_time_to_quality.py"),
    output:
        png=report(
            "figures/time_to_quality_vs_dataset_size.png",
            caption="../report/time_to_quality.rst",
            category="Figures",
            labels={"figure": "time_to_quality_vs_dataset_size"},
        ),
    log:
        "results/logs/plots/time_to_quality.log",
    conda:
        ENV
    params:
        settings=config["plots"],
    script:
        "../scripts/plot_time_to_quality.py"
