# Depth diagnostics (repro/depth/): each shared-depth LM checkpoint's token states at every depth
# step, measured on validation windows (the figure is drawn in report.smk).
from repro.config import depth_diagnostic_runs

DEPTH_RUNS = depth_diagnostic_runs(config)


rule depth_diagnostics:
    input:
        unpack(eval_data),
        checkpoint=lambda wildcards: f"{trainer_of(wildcards).directory}/model.pt",
        code="repro/depth/measure.py",
    output:
        f"{RUN_DIR}/depth.json",
    params:
        run=lambda wildcards: run_of(wildcards).name,
        # A changed recipe reruns the job, and a stale checkpoint is refused.
        trained_with=lambda wildcards: settings_hash(train_settings(config, trainer_of(wildcards))),
        windows=config["depth_diagnostics"]["windows"],
    threads: config["torch_threads"]
    resources:
        **scheduled(lambda wildcards: job_resources.depth(config["depth_diagnostics"]["windows"], recipe_of(wildcards)["seq_len"])),
    log:
        f"{RUN_DIR}/depth.log",
    benchmark:
        f"{RUN_DIR}/depth_benchmark.tsv"
    run:
        python_step(
            "repro.depth.measure",
            ["--checkpoint", input.checkpoint, "--trained-with", params.trained_with, "--run", params.run,
             f"--data=valid={input.valid}", "--windows", params.windows, "--out", output[0]],
            log[0],
            gpus=resources.gpu,
        )


rule depth_aggregate:
    localrule: True
    input:
        [f"{run.directory}/depth.json" for run in DEPTH_RUNS],
    output:
        "results/depth_diagnostics.csv",
    log:
        "results/logs/depth_aggregate.log",
    run:
        python_step("repro.depth.aggregate", ["--out", output[0], *input], log[0])

