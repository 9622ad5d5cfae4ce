rule prepare_wikitext:
    output:
        train="data/wikitext2/train_stream.pt",
        valid="data/wikitext2/valid_stream.pt",
        manifest="data/wikitext2/manifest.json",
    params:
        source=(
            f"--wikitext-dir {config['wikitext_dir']}"
            if config["wikitext_dir"]
            else ""
        ),
        train_split=config["wikitext_train_split"],
        official="" if config["wikitext_require_official"] else "--allow-unofficial",
    log:
        "results/logs/prepare_wikitext.log",
    conda:
        "../../environment.yml"
    shell:
        "python -m repro.data.prepare_wikitext {params.source} --train-split {params.train_split} "
        "{params.official} --out-dir data/wikitext2 2> {log}"
