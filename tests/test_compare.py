"""python -m repro.report.compare on small hand-made result sets whose differences are known."""
import pandas as pd
import pytest

from repro.report import compare
from repro.report.stats import summarize

BPB_SEEDS = {1: 2.0, 2: 2.2, 3: 2.4}
BPB_CI95 = summarize(BPB_SEEDS.values()).ci95


def metrics_rows(bpb_shift=0.0, train_seconds=10.0, variants=("transformer", "core")) -> list[dict]:
    rows = []
    for variant in variants:
        for seed, bpb in BPB_SEEDS.items():
            run = dict(experiment="lm", variant=variant, mode="faithful", seed=seed)
            rows += [dict(run, metric="val_bpb", value=bpb + bpb_shift), dict(run, metric="train_seconds", value=train_seconds)]
    return rows


def claim_rows(core_verdict="reproduced") -> list[dict]:
    common = dict(experiment="lm", table="Table 1", kind="within", quantity="val_bpb", paper=2.2, tolerance="±0.5",
                  band_low=1.7, band_high=2.7, n=3, ci95=BPB_CI95, ours=2.2)
    return [dict(common, claim="t1_bpb_transformer", text="Transformer's bpb", mode="faithful", verdict="reproduced"),
            dict(common, claim="t1_bpb_core", text="Core's bpb", mode="faithful", verdict=core_verdict)]


def result_set(folder, metrics, claims=None):
    folder.mkdir(parents=True)
    pd.DataFrame(metrics).to_csv(folder / "metrics.csv", index=False)
    if claims is not None:
        pd.DataFrame(claims).to_csv(folder / "claims.csv", index=False)
    return folder


def run(tmp_path, a, b, *extra):
    out = tmp_path / "out"
    compare.main([str(a), str(b), "--out", str(out), *extra])
    claims = out / "claims_diff.csv"
    return pd.read_csv(out / "metrics_diff.csv"), (pd.read_csv(claims) if claims.exists() else None)


def row(diff, **key):
    found = diff
    for column, value in key.items():
        found = found[found[column] == value]
    assert len(found) == 1, key
    return found.iloc[0]


def test_identical_sets_give_no_differences_and_no_verdict_change(tmp_path, capsys):
    a = result_set(tmp_path / "a", metrics_rows(), claim_rows())
    b = result_set(tmp_path / "b", metrics_rows(), claim_rows())
    metrics, claims = run(tmp_path, a, b)
    assert len(metrics) == 4 and (metrics["present"] == "both").all()
    assert (metrics["difference"] == 0).all() and (metrics["relative_difference"] == 0).all()
    assert len(claims) == 2 and not claims["verdict_changed"].any() and (claims["difference"] == 0).all()
    printed = capsys.readouterr().out
    assert "0 of 2 results differ" in printed and "0 verdict(s) changed" in printed


@pytest.mark.parametrize("shift_in_cis, inside", [(0.5, True), (1.5, False)])
def test_a_changed_value_shows_its_difference_and_whether_it_lies_in_as_ci(tmp_path, capsys, shift_in_cis, inside):
    shift = shift_in_cis * BPB_CI95
    a = result_set(tmp_path / "a", metrics_rows(), claim_rows())
    b = result_set(tmp_path / "b", metrics_rows(bpb_shift=shift), claim_rows())
    metrics, _ = run(tmp_path, a, b)
    changed = row(metrics, variant="core", metric="val_bpb")
    a_mean = summarize(BPB_SEEDS.values()).mean
    assert changed["a_n"] == changed["b_n"] == len(BPB_SEEDS)
    assert changed["difference"] == pytest.approx(shift)
    assert changed["relative_difference"] == pytest.approx(shift / a_mean)
    assert changed["a_ci95"] == pytest.approx(BPB_CI95)
    assert bool(changed["b_in_a_ci95"]) is inside
    assert f"lm / core / faithful / val_bpb: {a_mean:.6g} → {a_mean + shift:.6g}" in capsys.readouterr().out


def test_timing_metrics_are_flagged_and_kept_out_of_the_ranking(tmp_path, capsys):
    a = result_set(tmp_path / "a", metrics_rows(train_seconds=10.0))
    b = result_set(tmp_path / "b", metrics_rows(bpb_shift=0.1, train_seconds=40.0))
    metrics, _ = run(tmp_path, a, b)
    timing = row(metrics, variant="core", metric="train_seconds")
    assert timing["timing"] and timing["relative_difference"] == pytest.approx(3.0)
    assert not row(metrics, variant="core", metric="val_bpb")["timing"]
    printed = capsys.readouterr().out
    assert "train_seconds median B/A 4" in printed
    assert "/ train_seconds:" not in printed and "/ val_bpb:" in printed


def test_a_flipped_verdict_is_reported(tmp_path, capsys):
    a = result_set(tmp_path / "a", metrics_rows(), claim_rows(core_verdict="reproduced"))
    b = result_set(tmp_path / "b", metrics_rows(), claim_rows(core_verdict="not reproduced"))
    _, claims = run(tmp_path, a, b)
    flipped = row(claims, claim="t1_bpb_core")
    assert flipped["verdict_changed"] and (flipped["a_verdict"], flipped["b_verdict"]) == ("reproduced", "not reproduced")
    assert not row(claims, claim="t1_bpb_transformer")["verdict_changed"]
    printed = capsys.readouterr().out
    assert "1 verdict(s) changed" in printed and "t1_bpb_core (faithful): reproduced → not reproduced" in printed
    with pytest.raises(SystemExit) as failed:
        run(tmp_path, a, b, "--fail-on-verdict-change")
    assert failed.value.code == 1


def test_rows_on_one_side_only_are_listed(tmp_path, capsys):
    a = result_set(tmp_path / "a", metrics_rows(variants=("transformer", "core")), claim_rows())
    b = result_set(tmp_path / "b", metrics_rows(variants=("transformer", "rosa")), claim_rows()[:1])
    metrics, claims = run(tmp_path, a, b)
    only_a, only_b = row(metrics, variant="core", metric="val_bpb"), row(metrics, variant="rosa", metric="val_bpb")
    assert only_a["present"] == "A only" and pd.isna(only_a["b_mean"]) and pd.isna(only_a["difference"])
    assert only_b["present"] == "B only" and pd.isna(only_b["a_mean"])
    assert row(claims, claim="t1_bpb_core")["present"] == "A only"
    printed = capsys.readouterr().out
    assert "A only: lm / core / faithful / val_bpb" in printed and "B only: lm / rosa / faithful / val_bpb" in printed


def test_a_set_without_claims_is_compared_on_its_metrics_alone(tmp_path, capsys):
    a = result_set(tmp_path / "a", metrics_rows(), claim_rows())
    b = result_set(tmp_path / "b", metrics_rows(bpb_shift=0.1))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "claims_diff.csv").write_text("left by an earlier comparison\n")
    metrics, claims = run(tmp_path, a, b)
    assert claims is None and len(metrics) == 4
    assert f"claims: not compared, no claims.csv in B ({b})" in capsys.readouterr().out


@pytest.mark.parametrize("damage, message", [
    (lambda a: (a / "metrics.csv").unlink(), "no metrics.csv"),
    (lambda a: pd.read_csv(a / "metrics.csv").drop(columns="value").to_csv(a / "metrics.csv", index=False),
     "metrics.csv: missing column(s) value"),
    (lambda a: pd.read_csv(a / "claims.csv").drop(columns="verdict").to_csv(a / "claims.csv", index=False),
     "claims.csv: missing column(s) verdict"),
    (lambda a: pd.read_csv(a / "metrics.csv").assign(value="fast").to_csv(a / "metrics.csv", index=False),
     "column value holds a value that is not a number: 'fast'"),
    (lambda a: pd.concat([pd.read_csv(a / "metrics.csv")] * 2).to_csv(a / "metrics.csv", index=False),
     "more than one row for experiment=lm"),
])
def test_bad_input_names_the_path_and_what_is_wrong_and_writes_nothing(tmp_path, damage, message):
    a = result_set(tmp_path / "a", metrics_rows(), claim_rows())
    b = result_set(tmp_path / "b", metrics_rows(), claim_rows())
    damage(a)
    with pytest.raises(SystemExit) as failed:
        run(tmp_path, a, b)
    assert str(a) in str(failed.value.code) and message in str(failed.value.code)
    assert not (tmp_path / "out").exists()


def test_a_folder_that_does_not_exist_is_refused(tmp_path):
    b = result_set(tmp_path / "b", metrics_rows())
    with pytest.raises(SystemExit, match="not a folder; expected a result set folder holding metrics.csv"):
        run(tmp_path, tmp_path / "missing", b)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("metric, timing", [("train_seconds", True), ("eval_seconds", True), ("val_bpb", False),
                                            ("copy_steps_to_perfect_training", False)])
def test_timing_metrics_are_told_by_their_name(metric, timing):
    assert compare.is_timing(metric) is timing
