# Measured properties of a benchmark's generator, independent of any model.


rule triple_audit:
    input:
        code=["repro/triple_audit.py", "repro/tasks/triple_data.py"],
    output:
        "results/audit/triple_audit.csv",
    params:
        seed=TRIPLE_RECIPE["seeds"][0],
        table_seed=TRIPLE_RECIPE["seeds"][0] + TRIPLE_RECIPE["seed_offsets"]["lookup_table"],
        seq_len=TRIPLE_RECIPE["seq_len"],
        examples=config["report"]["triple_audit"]["examples"],
    log:
        "results/logs/triple_audit.log",
    run:
        python_step(
            "repro.triple_audit",
            ["--seed", params.seed, "--table-seed", params.table_seed, "--seq-len", params.seq_len,
             "--examples", params.examples, "--out", output[0]],
            log[0],
        )
