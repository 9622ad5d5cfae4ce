"""repro/optimisation_step.py and repro/cuda_graph.py: the eager step is spec §1.2's (clipping
per group, then AdamW); training on this machine's device (CUDA graphs where there is CUDA) is
deterministic and tracks eager training, and replayed evaluation passes give the eager metrics."""
from dataclasses import replace

import pytest
import torch

from repro.config import Run, eval_settings, load, train_settings
from repro.evaluate import evaluate
from repro.optimisation_step import WARMUP_STEPS, OptimisationStep
from repro.train import train

from conftest import REPO

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def test_eager_step_clips_each_group_then_steps_adamw():
    torch.manual_seed(0)
    first, second = torch.nn.Linear(4, 4), torch.nn.Linear(4, 2)
    copies = [torch.nn.Linear(4, 4), torch.nn.Linear(4, 2)]
    copies[0].load_state_dict(first.state_dict())
    copies[1].load_state_dict(second.state_dict())
    x = torch.randn(8, 4) * 10  # large gradients: both groups are clipped

    def loss_fn(layers):
        return lambda x: ((layers[1](layers[0](x)) ** 2).mean(), x)

    step = OptimisationStep(loss_fn([first, second]), [first.parameters(), second.parameters()], lr=0.1,
                            weight_decay=0.01, clip_norm=0.5, graph=False)
    manual = torch.optim.AdamW([*copies[0].parameters(), *copies[1].parameters()], lr=0.1, weight_decay=0.01)
    for _ in range(3):
        loss, _ = step(x)
        manual.zero_grad()
        manual_loss = loss_fn(copies)(x)[0]
        manual_loss.backward()
        norms = [torch.nn.utils.clip_grad_norm_(layer.parameters(), 0.5) for layer in copies]
        manual.step()
        assert all(norm > 0.5 for norm in norms)
        assert torch.equal(loss, manual_loss)
    for layer, copy in zip([first, second], copies):
        assert all(torch.equal(a, b) for a, b in zip(layer.parameters(), copy.parameters()))


RUN = Run("recall", "unimatrix_core", "faithful", 19)


def config(**recipe):
    found = load(REPO / "config" / "config.yaml", REPO / "config" / "smoke.yaml")
    found["device"] = DEVICE
    found["recipes"]["R-AR"].update(steps=WARMUP_STEPS + 5, **recipe)
    return found


def settings(**recipe):
    return train_settings(config(**recipe), RUN)


def test_training_on_this_device_is_deterministic_and_tracks_eager_steps():
    graphed = settings()  # cuda_graphs: true, the default
    (model_a, record_a), (model_b, record_b) = train(graphed, {}, progress=False), train(graphed, {}, progress=False)
    assert record_a["losses"] == record_b["losses"]
    assert all(torch.equal(a, b) for a, b in zip(model_a.parameters(), model_b.parameters()))
    no_dropout = settings(dropout=0.0)
    _, replayed = train(no_dropout, {}, progress=False)
    _, eager = train(replace(no_dropout, cuda_graphs=False), {}, progress=False)
    assert replayed["losses"] == pytest.approx(eager["losses"], rel=1e-4)
    assert replayed["losses"][-1] < replayed["losses"][0]


def test_replayed_evaluation_passes_give_the_eager_metrics():
    trained = settings()
    model, record = train(trained, {}, progress=False)
    found = []
    for cuda_graphs in (True, False):
        checkpoint = {"settings": replace(trained, cuda_graphs=cuda_graphs).as_dict(), "state_dict": model.state_dict(), "record": record}
        metrics, _, _ = evaluate(checkpoint, eval_settings(config(), RUN), {})
        found.append({key: value for key, value in metrics.items() if not key.endswith("seconds")})
    assert found[0] == found[1] and "acc_4pairs_pct" in found[0]
