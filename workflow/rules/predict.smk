rule predict:
    input:
        model=prediction_model,
        points=prediction_points,
        code=prediction_code,
    output:
        csv=report(
            "results/predictions/{name}.csv",
            caption="../report/predictions.rst",
            category="Predictions",
            labels={"table": "predictions {name}"},
        ),
    log:
        "results/logs/predict/{name}.log",
    conda:
        ENV
    script:
        "../scripts/predict.py"
