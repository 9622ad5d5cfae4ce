# Measurements without training: properties of a benchmark's generator, and of a mechanism alone.
from repro.report.figure_settings import slot_capacity_arguments


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


# SparsePointer's write rule alone at every slot count of the ladder (spec §4.7); the figure only draws it.
rule slot_capacity:
    input:
        code=["repro/slot_capacity.py", "models/side_memory.py", "repro/tasks/recall.py"],
    output:
        "results/audit/slot_capacity.csv",
    params:
        settings=slot_capacity_arguments(config),
    log:
        "results/logs/slot_capacity.log",
    run:
        python_step("repro.slot_capacity", [*params.settings, "--out", output[0]], log[0])
