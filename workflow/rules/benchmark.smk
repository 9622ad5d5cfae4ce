# The throughput study (spec §5.5, E7): untrained models timed per (variant, recurrence form), then
# gathered per measurement. Nothing here reads a run; nothing in training reads this.


rule benchmark:
    output:
        "results/benchmarks/{variant}/{form}/{measurement}.json",
    params:
        settings=lambda wildcards: as_json(
            benchmark_settings(config, wildcards.measurement, wildcards.variant, wildcards.form)
        ),
    # Every core: no other job runs beside a timing job and disturbs its clock. The job itself
    # uses torch_threads (in its settings), as every job does. A process of its own, unlike the
    # other steps (repro/in_process.py): nothing set by earlier jobs in Snakemake's process (e.g.
    # torch's deterministic algorithms) may change what it times.
    threads: workflow.cores
    log:
        "results/benchmarks/{variant}/{form}/{measurement}.log",
    conda:
        "../../environment.yml"
    shell:
        "python -m repro.benchmarks.{wildcards.measurement} --settings {params.settings:q} "
        "--out {output} 2> {log}"


rule aggregate_benchmark:
    input:
        lambda wildcards: [
            f"results/benchmarks/{variant}/{form}/{wildcards.measurement}.json"
            for variant, form in benchmark_jobs(config)
        ],
    output:
        table="results/benchmarks/{measurement}.csv",
        provenance="results/benchmarks/{measurement}.provenance.json",
    params:
        baseline=config["benchmark"]["baseline"],
    log:
        "results/logs/aggregate_benchmark_{measurement}.log",
    run:
        python_step(
            "repro.benchmarks.aggregate",
            ["--baseline", params.baseline, "--out", output.table, "--provenance-out", output.provenance, *input],
            log[0],
        )
