# Rebuilds every table and figure of "Associative-State Universal Transformers" (arXiv 2604.25930):
#   snakemake --cores 1                                  the paper (config/config.yaml)
#   snakemake --cores 2 --configfile config/smoke.yaml   the whole DAG in minutes
from snakemake.utils import min_version

min_version("8.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"  # snakemake --report report.zip, after a run


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/audit.smk"
include: "workflow/rules/benchmark.smk"
include: "workflow/rules/ruler.smk"
include: "workflow/rules/depth.smk"
include: "workflow/rules/report.smk"


rule all:
    localrule: True
    default_target: True
    input:
        "paper/build/main.pdf",
        "results/claims.csv",
        "results/summary.csv",
        rules.report_captions.output,
