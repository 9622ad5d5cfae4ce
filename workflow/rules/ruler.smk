# RULER-core (spec §5.4, E10): every trained checkpoint of each LM experiment of `ruler` answers the four
# tasks at each of that experiment's budgets; at the paper's budget the prompts do not fit (D18).
RULER = config["ruler"]


rule ruler:
    input:
        checkpoint=lambda wildcards: f"{trainer_of(wildcards).directory}/model.pt",
        code=[f"repro/ruler/{name}.py" for name in ("run", "tasks", "tokens", "budget", "generate", "score")],
    output:
        f"{RUN_DIR}/ruler_budget{{budget}}.json",
    params:
        run=lambda wildcards: run_of(wildcards).name,
        # A changed recipe reruns the job, and a stale checkpoint is refused.
        trained_with=lambda wildcards: settings_hash(train_settings(config, trainer_of(wildcards))),
        samples=lambda wildcards: RULER["experiments"][wildcards.experiment]["samples"],
        seed=RULER["seed"],
    threads: config["torch_threads"]
    resources:
        **scheduled(lambda wildcards: job_resources.ruler(RULER["experiments"][wildcards.experiment]["samples"], int(wildcards.budget))),
    log:
        f"{RUN_DIR}/ruler_budget{{budget}}.log",
    benchmark:
        f"{RUN_DIR}/ruler_budget{{budget}}_benchmark.tsv"
    run:
        python_step(
            "repro.ruler.run",
            ["--checkpoint", input.checkpoint, "--trained-with", params.trained_with, "--run", params.run,
             "--budget", wildcards.budget, "--samples", params.samples, "--seed", params.seed, "--out", output[0]],
            log[0],
            gpus=resources.gpu,
        )


rule ruler_aggregate:
    localrule: True
    input:
        [f"{run.directory}/ruler_budget{budget}.json" for run, budget in ruler_jobs(config)],
    output:
        "results/ruler.csv",
    log:
        "results/logs/ruler_aggregate.log",
    run:
        python_step("repro.ruler.aggregate", ["--out", output[0], *input], log[0])
