rule train:
    input:
        unpack(train_data),
    output:
        checkpoint=f"{RUN_DIR}/model.pt",
    params:
        settings=lambda wildcards: as_json(train_settings(config, run_of(wildcards))),
        data=lambda wildcards, input: [f"--data={role}={path}" for role, path in input.items()],
    threads: config["torch_threads"]
    resources:
        **scheduled(lambda wildcards: job_resources.training(recipe_of(wildcards))),
    log:
        f"{RUN_DIR}/train.log",
    benchmark:
        f"{RUN_DIR}/train_benchmark.tsv"
    run:
        python_step("repro.train", ["--settings", params.settings, *params.data, "--checkpoint", output.checkpoint], log[0],
                    gpus=resources.gpu)
