rule prepare_wikitext:
    output:
        train="data/wikitext2/train_stream.pt",
        valid="data/wikitext2/valid_stream.pt",
        manifest="data/wikitext2/manifest.json",
    params:
        source=["--wikitext-dir", config["wikitext_dir"]] if config["wikitext_dir"] else [],
        train_split=config["wikitext_train_split"],
        official=[] if config["wikitext_require_official"] else ["--allow-unofficial"],
    log:
        "results/logs/prepare_wikitext.log",
    run:
        python_step(
            "repro.data.prepare_wikitext",
            [*params.source, "--train-split", params.train_split, *params.official, "--out-dir", "data/wikitext2"],
            log[0],
        )
