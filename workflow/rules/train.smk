rule train:
    input:
        unpack(train_data),
    output:
        checkpoint=f"{RUN_DIR}/model.pt",
    params:
        settings=lambda wildcards: as_json(train_settings(config, run_of(wildcards))),
        data=lambda wildcards, input: " ".join(f"--data {role}={path}" for role, path in input.items()),
    log:
        f"{RUN_DIR}/train.log",
    benchmark:
        f"{RUN_DIR}/train_benchmark.tsv"
    conda:
        "../../environment.yml"
    shell:
        "python -m repro.train --settings {params.settings:q} {params.data} "
        "--checkpoint {output.checkpoint} 2> {log}"
