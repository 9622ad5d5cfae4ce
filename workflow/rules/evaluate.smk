rule evaluate:
    input:
        unpack(eval_data),
        checkpoint=lambda wildcards: f"{trainer_of(wildcards).directory}/model.pt",
    output:
        metrics=f"{RUN_DIR}/metrics.json",
    params:
        settings=lambda wildcards: as_json(eval_settings(config, run_of(wildcards))),
        # Ties the metrics to the training settings too: a changed recipe reruns the evaluation
        # even where its checkpoint was deleted, and a stale checkpoint is refused.
        trained_with=lambda wildcards: settings_hash(train_settings(config, trainer_of(wildcards))),
        data=lambda wildcards, input: (
            [f"--data=valid={input.valid}", f"--manifest={input.manifest}"] if "valid" in input.keys() else []
        ),
    threads: config["torch_threads"]
    resources:
        **scheduled(lambda wildcards: job_resources.evaluation(recipe_of(wildcards))),
    log:
        f"{RUN_DIR}/evaluate.log",
    benchmark:
        f"{RUN_DIR}/evaluate_benchmark.tsv"
    run:
        python_step(
            "repro.evaluate",
            ["--settings", params.settings, "--checkpoint", input.checkpoint, "--trained-with", params.trained_with,
             *params.data, "--metrics", output.metrics],
            log[0],
            gpus=resources.gpu,
        )


rule aggregate_experiment:
    localrule: True
    input:
        lambda wildcards: metrics_files(wildcards.experiment),
    output:
        table="results/metrics/{experiment}.csv",
        provenance="results/metrics/{experiment}.provenance.json",
    log:
        "results/logs/aggregate_{experiment}.log",
    run:
        python_step(
            "repro.aggregate",
            ["experiment", "--out", output.table, "--provenance-out", output.provenance, *input],
            log[0],
        )


rule aggregate_all:
    localrule: True
    input:
        tables=expand("results/metrics/{experiment}.csv", experiment=EXPERIMENTS),
        provenance=expand(
            "results/metrics/{experiment}.provenance.json", experiment=EXPERIMENTS
        ),
    output:
        table="results/metrics.csv",
        provenance="results/provenance.json",
    log:
        "results/logs/aggregate_all.log",
    run:
        python_step(
            "repro.aggregate",
            ["all", "--out", output.table, "--provenance-out", output.provenance, *input.tables],
            log[0],
        )
