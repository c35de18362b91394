"""401's "What truncation costs": no gradient crosses a window boundary, so a lag longer than
the window is not learned, while a shorter one is, even across the boundary."""
import math

import torch

from conftest import load


def test_no_gradient_crosses_a_window_boundary():
    m = load("401_rnn_regressor.py")
    torch.manual_seed(0)
    model = m.RNN()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # lr 0: the weights stay as they are
    x0, x1 = (torch.randn(1, m.TIME_STEP, 1, requires_grad=True) for _ in range(2))
    y = torch.randn(1, m.TIME_STEP, 1)

    # Without the detach, the loss of window 1 does depend on window 0's inputs...
    _, h_state = model(x0, None)
    loss = torch.nn.functional.mse_loss(model(x1, h_state)[0], y)
    (grad,) = torch.autograd.grad(loss, x0)
    assert grad.abs().sum() > 0

    # ...but train_step hands on a detached state, so window 1's backward stops at its start.
    _, h_state, _ = m.train_step(model, optimizer, x0, y, None)
    assert x0.grad is not None and not h_state.requires_grad
    x0.grad = None
    m.train_step(model, optimizer, x1, y, h_state)
    assert x0.grad is None and x1.grad.abs().sum() > 0


def test_a_lag_inside_the_window_is_learned_and_a_longer_one_is_not():
    m = load("401_rnn_regressor.py")
    same, earlier = m.truncation_experiment(2, steps=60)
    # Learned on both kinds of step, also where the target is in the previous window.
    assert same > 0.95 and earlier > 0.95
    same, earlier = m.truncation_experiment(m.TIME_STEP + 5, steps=60)
    assert math.isnan(same)  # no step has its target in its own window
    assert abs(earlier - 0.5) < 0.05  # chance
