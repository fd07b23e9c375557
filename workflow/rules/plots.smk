rule plot_summary:
    input:
        by_size="results/summary_by_size.csv",
        code=module_files("plots", "plots_names"),
    output:
        png=report(
            "figures/{figure}.png",
            caption="../report/figure.rst",
            category="Figures",
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
        histories=[
            f"results/runs/{RUN}/history.csv".format(**k) for k in first_seed_keys()
        ],
        code=module_files("plots"),
    output:
        png=report(
            "figures/learning_curves.png",
            caption="../report/learning_curves.rst",
            category="Figures",
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
