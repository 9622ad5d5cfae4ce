"""models/dropout.py: CPU dropout masks from NumPy, and attention with dropout written out."""
import pytest
import torch
import torch.nn.functional as F

from models import dropout as drop


def test_mask_keeps_one_minus_p_scaled_and_the_run_seed_decides_it():
    torch.manual_seed(0)
    first = drop.keep_mask((400, 500), 0.1, torch.float32)
    assert first.unique().tolist() == [0.0, pytest.approx(1 / 0.9)]
    kept = (first > 0).double().mean().item()
    assert abs(kept - 0.9) < 4 * (0.9 * 0.1 / first.numel()) ** 0.5  # 4 standard errors of a binomial
    torch.manual_seed(0)
    assert torch.equal(drop.keep_mask((400, 500), 0.1, torch.float32), first)
    assert not torch.equal(drop.keep_mask((400, 500), 0.1, torch.float32), first)  # the next draw differs


def test_dropout_multiplies_by_the_mask_forward_and_backward():
    x = torch.randn(8, 16, 32, requires_grad=True)
    torch.manual_seed(3)
    y = drop.dropout(x, 0.25, training=True, numpy_masks=True)
    torch.manual_seed(3)
    mask = drop.keep_mask(x.shape, 0.25, x.dtype)
    assert torch.equal(y, x * mask)
    y.sum().backward()
    assert torch.equal(x.grad, mask)


@pytest.mark.parametrize("p, training", [(0.0, True), (0.3, False)])
def test_dropout_is_the_identity_when_off(p, training):
    x = torch.randn(4, 5)
    assert drop.dropout(x, p, training) is x


def test_module_rejects_a_probability_outside_0_1():
    with pytest.raises(ValueError, match="dropout probability 1.5"):
        drop.Dropout(1.5)


@pytest.mark.parametrize("causal", [True, False])
def test_written_out_attention_is_sdpa_when_nothing_is_dropped(monkeypatch, causal):
    monkeypatch.setattr(drop, "keep_mask", lambda shape, p, dtype: torch.ones(shape, dtype=dtype))
    q, k, v = (torch.randn(2, 4, 37, 16, dtype=torch.float64, requires_grad=True) for _ in range(3))
    ours = drop.attention(q, k, v, causal, dropout_p=0.1, numpy_masks=True)
    grads = torch.autograd.grad(ours.square().sum(), (q, k, v))
    reference = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    reference_grads = torch.autograd.grad(reference.square().sum(), (q, k, v))
    torch.testing.assert_close(ours, reference, rtol=1e-10, atol=1e-12)
    for got, expected in zip(grads, reference_grads):
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)


def test_attention_drops_weights_not_outputs():
    """With the weights' mask, each output row is a masked, rescaled mix of the values."""
    torch.manual_seed(1)
    q, k, v = (torch.randn(1, 1, 6, 4, dtype=torch.float64) for _ in range(3))
    torch.manual_seed(9)
    ours = drop.attention(q, k, v, True, dropout_p=0.5, numpy_masks=True)
    torch.manual_seed(9)
    mask = drop.keep_mask((1, 6, 6), 0.5, torch.float64)
    scores = (q @ k.transpose(-2, -1) / 2).masked_fill(torch.ones(6, 6, dtype=torch.bool).triu(1), float("-inf"))
    expected = (torch.softmax(scores, -1) * mask.view(1, 1, 6, 6)) @ v
    torch.testing.assert_close(ours, expected, rtol=1e-12, atol=1e-12)
