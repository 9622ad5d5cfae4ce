# Tables, figures and claims read only the tidy metrics; nothing here reaches back to a run.
# Outputs marked report(...) make Snakemake's HTML report (snakemake --report), with the PDF's captions.
from repro.report.captions import caption_files, figure_captions
from repro.report.facts import config_facts
from repro.report.figure_settings import (capacity_figure_arguments, depth_diagnostics_arguments, figure2_arguments,
                                         recall_distance_arguments)

CAPTION_FILES = caption_files(config)
CAPTIONS = "../../results/report_captions"  # rule report_captions writes them; report() paths start at this file


rule table:
    localrule: True
    input:
        metrics=lambda wildcards: REPORT_TABLES[wildcards.table]["metrics"],
        reported="paper/reported.csv",
        template="paper/templates/comparison_table.tex.j2",
        code="repro/report/table.py",
    output:
        tex="paper/tables/{table}.tex",
        csv=report("results/report_tables/{table}.csv", caption=f"{CAPTIONS}/table.rst", category="Tables", subcategory="{table}"),
    params:
        spec=lambda wildcards: as_json(REPORT_TABLES[wildcards.table]["spec"]),
    log:
        "results/logs/table_{table}.log",
    run:
        python_step(
            "repro.report.table",
            ["--spec", params.spec, "--metrics", *input.metrics, "--reported", input.reported,
             "--template", input.template, "--out", output.tex, "--out-csv", output.csv],
            log[0],
        )


rule triple_audit_table:
    localrule: True
    input:
        quantities=report(rules.triple_audit.output[0], caption=f"{CAPTIONS}/triple_audit.rst", category="Tables",
                          subcategory="triple_audit"),
        template="paper/templates/quantities_table.tex.j2",
        code="repro/report/quantities.py",
    output:
        "paper/tables/triple_audit.tex",
    params:
        caption=config["report"]["triple_audit"]["caption"],
    log:
        "results/logs/triple_audit_table.log",
    run:
        python_step(
            "repro.report.quantities",
            ["--quantities", input.quantities, "--caption", params.caption, "--label", "tab:triple_audit",
             "--template", input.template, "--out", output[0]],
            log[0],
        )


# One per result set: this run's (`local`) and each committed set of ruler.result_sets.
rule ruler_table:
    localrule: True
    input:
        ruler=report(lambda wildcards: RULER_SETS[wildcards.ruler_set], caption=f"{CAPTIONS}/ruler.rst", category="Tables",
                     subcategory="ruler_{ruler_set}"),
        template="paper/templates/ruler_table.tex.j2",
        code="repro/report/ruler_table.py",
    output:
        "paper/tables/ruler_{ruler_set}.tex",
    params:
        spec=lambda wildcards: as_json(ruler_table_spec(config, wildcards.ruler_set)),
    log:
        "results/logs/ruler_table_{ruler_set}.log",
    run:
        python_step(
            "repro.report.ruler_table",
            ["--ruler", input.ruler, "--spec", params.spec, "--template", input.template, "--out", output[0]],
            log[0],
        )


rule fix_effect:
    localrule: True
    input:
        metrics="results/metrics.csv",
        reported="paper/reported.csv",
        code="repro/report/fix_effect.py",
    output:
        "paper/tables/fix_effect_{effect}.tex",
    params:
        # --label, --model, --reference, --paper-model, --paper-reference
        spec=lambda wildcards: [
            f"--{key.replace('_', '-')}={value}" for key, value in config["report"]["fix_effects"][wildcards.effect].items()
        ],
    log:
        "results/logs/fix_effect_{effect}.log",
    run:
        python_step(
            "repro.report.fix_effect",
            ["--metrics", input.metrics, "--reported", input.reported, *params.spec, "--out", output[0]],
            log[0],
        )


rule figure1_architecture:
    localrule: True
    input:
        code="repro/figures/fig1_architecture.py",
    output:
        pdf="paper/figures/fig1_architecture.pdf",
        png=report("paper/figures/fig1_architecture.png", caption=f"{CAPTIONS}/fig1_architecture.rst", category="Figures",
                   subcategory="fig1_architecture"),
    log:
        "results/logs/figure1_architecture.log",
    run:
        python_step("repro.figures.fig1_architecture", ["--out-pdf", output.pdf, "--out-png", output.png], log[0])


rule figure2_lm_bpb:
    localrule: True
    input:
        metrics=f"results/metrics/{config['report']['figures']['fig2_lm_bpb']['experiment']}.csv",
        reported="paper/reported.csv",
        code="repro/figures/fig2_lm_bpb.py",
    output:
        pdf="paper/figures/fig2_lm_bpb.pdf",
        png=report("paper/figures/fig2_lm_bpb.png", caption=f"{CAPTIONS}/fig2_lm_bpb.rst", category="Figures",
                   subcategory="fig2_lm_bpb"),
    params:
        settings=figure2_arguments(config),
    log:
        "results/logs/figure2_lm_bpb.log",
    run:
        python_step(
            "repro.figures.fig2_lm_bpb",
            ["--metrics", input.metrics, "--reported", input.reported, *params.settings,
             "--out-pdf", output.pdf, "--out-png", output.png],
            log[0],
        )


rule figure_sp_capacity:
    localrule: True
    input:
        metrics=f"results/metrics/{config['report']['figures']['sp_capacity']['experiment']}.csv",
        reported="paper/reported.csv",
        slot_capacity=rules.slot_capacity.output[0],
        code="repro/figures/sp_capacity.py",
    output:
        pdf="paper/figures/sp_capacity.pdf",
        png=report("paper/figures/sp_capacity.png", caption=f"{CAPTIONS}/sp_capacity.rst", category="Figures",
                   subcategory="sp_capacity"),
    params:
        settings=capacity_figure_arguments(config),
    log:
        "results/logs/figure_sp_capacity.log",
    run:
        python_step(
            "repro.figures.sp_capacity",
            ["--metrics", input.metrics, "--reported", input.reported, "--slot-capacity", input.slot_capacity,
             *params.settings, "--out-pdf", output.pdf, "--out-png", output.png],
            log[0],
        )


# One per result set: this run's (`local`) and each committed set of report.result_sets.recall_distance.
rule figure_recall_distance:
    localrule: True
    input:
        metrics=lambda wildcards: RECALL_SETS[wildcards.recall_set]["metrics"],
        code="repro/figures/recall_distance.py",
    output:
        pdf="paper/figures/recall_distance_{recall_set}.pdf",
        png=report("paper/figures/recall_distance_{recall_set}.png", caption=f"{CAPTIONS}/recall_distance.rst",
                   category="Figures", subcategory="recall_distance_{recall_set}"),
    params:
        settings=lambda wildcards: recall_distance_arguments(config, wildcards.recall_set),
    log:
        "results/logs/figure_recall_distance_{recall_set}.log",
    run:
        python_step(
            "repro.figures.recall_distance",
            ["--metrics", *input.metrics, *params.settings, "--out-pdf", output.pdf, "--out-png", output.png],
            log[0],
        )


rule figure_depth_diagnostics:
    localrule: True
    input:
        diagnostics=report(rules.depth_aggregate.output[0], caption=f"{CAPTIONS}/depth_diagnostics.rst",
                           category="Figures", subcategory="depth_diagnostics"),
        code="repro/figures/depth_diagnostics.py",
    output:
        pdf="paper/figures/depth_diagnostics.pdf",
        png=report("paper/figures/depth_diagnostics.png", caption=f"{CAPTIONS}/depth_diagnostics.rst", category="Figures",
                   subcategory="depth_diagnostics"),
    params:
        settings=depth_diagnostics_arguments(config, DEPTH_RUNS),
    log:
        "results/logs/figure_depth_diagnostics.log",
    run:
        python_step(
            "repro.figures.depth_diagnostics",
            ["--diagnostics", input.diagnostics, *params.settings, "--out-pdf", output.pdf, "--out-png", output.png],
            log[0],
        )


# Every number the report's prose states, as LaTeX macros: the config's facts and the measured ones.
rule report_variables:
    localrule: True
    input:
        reported="paper/reported.csv",
        slot_capacity=rules.slot_capacity.output[0],
        code=["repro/report/variables.py", "repro/report/facts.py", "repro/tasks/triple_data.py"],
    output:
        "paper/build/variables.tex",
    params:
        facts=json.dumps(config_facts(config, reported_numbers("paper/reported.csv"))),
        triple_seq_len=TRIPLE_RECIPE["seq_len"],
    log:
        "results/logs/report_variables.log",
    run:
        python_step(
            "repro.report.variables",
            ["--facts", params.facts, "--slot-capacity", input.slot_capacity, "--triple-seq-len", params.triple_seq_len,
             "--out", output[0]],
            log[0],
        )


rule figure3_throughput:
    localrule: True
    input:
        throughput=lambda wildcards: f"{RESULT_SETS[wildcards.result_set]}/throughput.csv",
        reported="paper/reported.csv",
        read_off="paper/read_off.csv",
        code="repro/figures/fig3_throughput.py",
    output:
        pdf="paper/figures/fig3_throughput_{result_set}.pdf",
        png=report("paper/figures/fig3_throughput_{result_set}.png", caption=f"{CAPTIONS}/fig3_throughput.rst",
                   category="Figures", subcategory="fig3_throughput_{result_set}"),
    params:
        names=json.dumps(benchmark_names(config)),  # in the config's order: it sets the colours
    log:
        "results/logs/figure3_throughput_{result_set}.log",
    run:
        python_step(
            "repro.figures.fig3_throughput",
            ["--throughput", input.throughput, "--names", params.names, "--reported", input.reported,
             "--read-off", input.read_off, "--out-pdf", output.pdf, "--out-png", output.png],
            log[0],
        )


rule train_step_table:
    localrule: True
    input:
        train_step=lambda wildcards: f"{RESULT_SETS[wildcards.result_set]}/train_step.csv",
        template="paper/templates/train_step_table.tex.j2",
        code="repro/report/train_step_table.py",
    output:
        "paper/tables/train_step_{result_set}.tex",
    params:
        names=json.dumps(benchmark_names(config)),  # in the config's order: it sets the rows'
    log:
        "results/logs/train_step_table_{result_set}.log",
    run:
        python_step(
            "repro.report.train_step_table",
            ["--train-step", input.train_step, "--names", params.names, "--result-set", wildcards.result_set,
             "--template", input.template, "--out", output[0]],
            log[0],
        )


rule claims:
    localrule: True
    input:
        metrics="results/metrics.csv",
        result_sets=list(claim_result_sets(CLAIMS).values()),  # committed sets our extension's claims are evaluated on
        reported="paper/reported.csv",
        code=["repro/report/claims.py", "repro/report/verdict.py", "repro/report/power.py"],
    output:
        report("results/claims.csv", caption=f"{CAPTIONS}/claims.rst", category="Claims and provenance"),
    params:
        claims=as_json(CLAIMS),  # expanded and checked with the config (common.smk)
        result_sets=[f"--result-set={name}={path}" for name, path in claim_result_sets(CLAIMS).items()],
    log:
        "results/logs/claims.log",
    run:
        python_step(
            "repro.report.claims",
            ["--claims", params.claims, "--metrics", input.metrics, *params.result_sets, "--reported", input.reported,
             "--out-csv", output[0]],
            log[0],
        )


# The report's first page (does the paper hold?) and its appendix table of every claim.
rule answer:
    localrule: True
    input:
        claims=rules.claims.output[0],
        first_page_template="paper/templates/answer.tex.j2",
        table_template="paper/templates/claims_table.tex.j2",
        code="repro/report/answer.py",
    output:
        first_page="paper/tables/answer.tex",
        table="paper/tables/claims.tex",
    params:
        answer=as_json(ANSWER),  # the first page's sections of paper/claims.yaml, checked with the config (common.smk)
        caption=config["report"]["claims"]["caption"],
    log:
        "results/logs/answer.log",
    run:
        python_step(
            "repro.report.answer",
            ["--claims", input.claims, "--answer", params.answer, "--first-page-template", input.first_page_template,
             "--table-template", input.table_template, "--table-caption", params.caption, "--out-first-page", output.first_page,
             "--out-table", output.table],
            log[0],
        )


rule render_report:
    localrule: True
    input:
        template="paper/templates/main.tex.j2",
        provenance=report("results/provenance.json", caption="../report/provenance.rst", category="Claims and provenance"),
        tables=[*expand("paper/tables/{table}.tex", table=TABLES), rules.triple_audit_table.output[0], *rules.answer.output,
                *expand("paper/tables/fix_effect_{effect}.tex", effect=config["report"]["fix_effects"]),
                *expand("paper/tables/train_step_{result_set}.tex", result_set=RESULT_SETS),
                *expand("paper/tables/ruler_{ruler_set}.tex", ruler_set=RULER_SETS)],
        figures=[rules.figure1_architecture.output.pdf, rules.figure2_lm_bpb.output.pdf, rules.figure_sp_capacity.output.pdf,
                 *expand("paper/figures/recall_distance_{recall_set}.pdf", recall_set=RECALL_SETS),
                 rules.figure_depth_diagnostics.output.pdf,
                 *expand("paper/figures/fig3_throughput_{result_set}.pdf", result_set=RESULT_SETS)],
        variables=rules.report_variables.output[0],
        code="repro/report/render.py",
    output:
        "paper/build/main.tex",
    params:
        tables=lambda wildcards, input: [f"--table={Path(path).stem}={path}" for path in input.tables],
        figures=lambda wildcards, input: [f"--figure={Path(path).stem}={path}" for path in input.figures],
        captions=lambda wildcards: json.dumps(figure_captions(config)),  # a function: its braces are not wildcards
    log:
        "results/logs/render_report.log",
    run:
        python_step(
            "repro.report.render",
            ["--template", input.template, "--provenance", input.provenance, "--variables", input.variables,
             *params.tables, *params.figures, "--captions", params.captions, "--out", output[0]],
            log[0],
        )


rule compile_report:
    localrule: True
    input:
        tex=rules.render_report.output,
        tables=rules.render_report.input.tables,
        figures=rules.render_report.input.figures,
        variables=rules.render_report.input.variables,
        tex_tools=tools_on_path("latexmk", "pdflatex", install=TEX_INSTALL),
    output:
        "paper/build/main.pdf",
    log:
        "results/logs/compile_report.log",
    conda:
        "../../environment.yml"
    shell:
        "latexmk -pdf -interaction=nonstopmode -halt-on-error -cd {input.tex} > {log} 2>&1"


# The captions of the HTML report, as plain text with the variables the PDF prints filled in.
rule report_captions:
    localrule: True
    input:
        variables=rules.report_variables.output[0],
        code="repro/report/captions.py",
    output:
        expand("results/report_captions/{name}.rst", name=CAPTION_FILES),
    params:
        captions=lambda wildcards: as_json(CAPTION_FILES),
    log:
        "results/logs/report_captions.log",
    run:
        python_step(
            "repro.report.captions",
            ["--captions", params.captions, "--variables", input.variables, "--out-dir", Path(output[0]).parent],
            log[0],
        )


rule summarize:
    localrule: True
    input:
        metrics="results/metrics.csv",
        code="repro/report/stats.py",
    output:
        "results/summary.csv",
    log:
        "results/logs/summarize.log",
    run:
        python_step("repro.report.stats", ["--metrics", input.metrics, "--out", output[0]], log[0])
