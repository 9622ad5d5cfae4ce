# The throughput study (spec §5.5, E7): untrained models timed, one job per variant (all its
# measurements and recurrence forms), then gathered per measurement. Nothing here reads a run;
# nothing in training reads this.


rule benchmark:
    output:
        "results/benchmarks/{variant}.json",
    params:
        settings=lambda wildcards: as_json(benchmark_variant_settings(config, wildcards.variant)),
    # Every core: no other job runs beside a timing job and disturbs its clock. The job itself
    # uses torch_threads (in its settings), as every job does. An interpreter of its own, unlike the
    # other steps (repro/steps.py): nothing set by earlier jobs in Snakemake's process (e.g.
    # torch's deterministic algorithms, tensors left alive) may change what it times: in Snakemake's
    # process eager times came out up to 8x slower (benchmarks/measured/PERFORMANCE.md).
    threads: workflow.cores
    resources:
        **scheduled(lambda wildcards: job_resources.timing(benchmark_variant_settings(config, wildcards.variant))),
    log:
        "results/benchmarks/{variant}.log",
    conda:
        "../../environment.yml"
    shell:
        "python -m repro.benchmarks.run --settings {params.settings:q} --out {output} 2> {log}"


rule aggregate_benchmark:
    localrule: True
    input:
        expand("results/benchmarks/{variant}.json", variant=config["benchmark"]["variants"]),
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
            ["--measurement", wildcards.measurement, "--baseline", params.baseline, "--out", output.table,
             "--provenance-out", output.provenance, *input],
            log[0],
        )
