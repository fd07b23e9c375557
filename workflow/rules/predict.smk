rule predict:
    input:
        model=prediction_model,
        points=prediction_points,
        code=prediction_code,
    output:
        csv="results/predictions/{name}.csv",
    log:
        "results/logs/predict/{name}.log",
    conda:
        ENV
    script:
        "../scripts/predict.py"
