"""401, 403, 404: shapes, the carried-and-detached state, the learning targets, bad flags."""
import math

import numpy as np
import pytest
import torch

from conftest import error_of, final_values, load, run

LESSONS = ["401_rnn_regressor.py", "403_lstm_sin_cos.py", "404_rnn_next_step.py"]


def test_401_windows_follow_the_wave():
    m = load("401_rnn_regressor.py")
    t, x, y = m.window(3)
    assert x.shape == y.shape == (1, m.TIME_STEP, 1)  # (batch, time, feature)
    assert t[0] == pytest.approx(3 * math.pi) and t[-1] < 4 * math.pi
    assert torch.allclose(x.flatten(), torch.sin(torch.from_numpy(t)))
    assert torch.allclose(y.flatten(), torch.cos(torch.from_numpy(t)))


def test_401_shapes_and_loop_equals_one_call():
    m = load("401_rnn_regressor.py")
    torch.manual_seed(0)
    model = m.RNN(hidden_size=16)
    x = torch.randn(3, 7, 1)  # batch 3, 7 time steps
    out, h = model(x, None)
    assert out.shape == (3, 7, 1)  # (batch, time, 1), not the old view(-1, 32, TIME_STEP)
    assert h.shape == (1, 3, 16)   # (num_layers, batch, hidden)
    out_loop, h_loop = model.forward_loop(x, None)
    assert out_loop.shape == (3, 7, 1)
    assert torch.allclose(out, out_loop, atol=1e-6)
    assert torch.equal(h, h_loop)
    # and each time step really is the Linear applied to that step's RNN output
    r_out, _ = model.rnn(x)
    assert torch.allclose(out[:, 4], model.out(r_out[:, 4]), atol=1e-6)


@pytest.mark.parametrize("script", ["401_rnn_regressor.py", "404_rnn_next_step.py"])
def test_rnn_state_is_carried_and_detached(script):
    m = load(script)
    torch.manual_seed(0)
    model = m.RNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    h = None
    for k in range(3):  # a second backward() through a carried state must work
        _, x, y = m.window(k)
        prediction, h_next, loss = m.train_step(model, optimizer, x, y, h)
        assert h_next.grad_fn is None and not h_next.requires_grad
        assert h_next.shape == (1, 1, m.HIDDEN_SIZE)
        if h is not None:  # carried, not reset: the state changes from window to window
            assert not torch.equal(h, h_next)
        h = h_next
        assert prediction.shape == (1, m.TIME_STEP, 1) and math.isfinite(loss)


def test_403_explicit_state_pair():
    m = load("403_lstm_sin_cos.py")
    torch.manual_seed(0)
    model = m.LSTM(hidden_size=12, num_layers=2)
    h, c = model.init_hidden(batch_size=5)
    assert h.shape == c.shape == (2, 5, 12)  # (num_layers, batch, hidden), even with batch_first
    assert not h.any() and not c.any()
    out, (h2, c2) = model(torch.randn(5, 9, 1), (h, c))
    assert out.shape == (5, 9, 1) and h2.shape == c2.shape == (2, 5, 12)

    model = m.LSTM()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    state = model.init_hidden()
    for k in range(3):
        _, x, y = m.window(k)
        _, new_state, _ = m.train_step(model, optimizer, x, y, state)
        for old, new in zip(state, new_state):
            assert new.grad_fn is None and not new.requires_grad  # both h and c detached
            assert not torch.equal(old, new)                       # and both carried
        state = new_state


def test_404_target_is_the_input_one_step_later():
    m = load("404_rnn_next_step.py")
    t, x, y = m.window(5)
    assert x.shape == y.shape == (1, m.TIME_STEP, 1)
    assert torch.allclose(y[0, :-1], x[0, 1:], atol=1e-6)
    assert m.FORECAST * m.DT == pytest.approx(2 * math.pi)


def test_404_forecast_feeds_on_its_own_outputs():
    m = load("404_rnn_next_step.py")
    torch.manual_seed(0)
    model = m.RNN()
    calls = []
    model.rnn.register_forward_hook(lambda mod, inputs, output: calls.append(inputs[0].clone()))
    _, _, curves = m.next_step_and_forecast(model, None, k=7, n=m.FORECAST)
    assert len(curves["forecast"]) == m.FORECAST
    np.testing.assert_allclose(np.diff(curves["t_future"]), m.DT, rtol=1e-6)
    assert curves["t_future"][0] == pytest.approx(curves["t"][-1] + 2 * m.DT)
    # one call on the true window, then one single-sample call per forecast sample, each fed the
    # previous output (the first one fed the window's last prediction)
    assert calls[0].shape == (1, m.TIME_STEP, 1) and len(calls) == 1 + m.FORECAST
    assert float(calls[1]) == pytest.approx(float(curves["prediction"][-1]))
    for k in range(2, len(calls)):
        assert calls[k].shape == (1, 1, 1)
        assert float(calls[k]) == pytest.approx(float(curves["forecast"][k - 2]))


def test_same_seed_same_numbers():
    m = load("401_rnn_regressor.py")
    runs = []
    for _ in range(2):
        torch.manual_seed(7)
        _, history = m.train(m.RNN(), steps=20)
        runs.append(history["loss"])
    assert runs[0] == runs[1]


# The real default runs (seconds each) and the targets their lessons promise.
@pytest.mark.parametrize("script, bounds", [
    ("401_rnn_regressor.py", {"mse": 0.005}),
    ("403_lstm_sin_cos.py", {"mse": 0.005}),
    ("404_rnn_next_step.py", {"next_step_mse": 5e-4, "forecast_mse": 0.02}),
])
def test_default_run_meets_its_target(script, bounds, capsys):
    load(script).main(["--no-plot", "--device", "cpu"])
    values = final_values(capsys.readouterr().out)
    for key, bound in bounds.items():
        assert values[key] <= bound, f"{script}: {key}={values[key]} > {bound}"


BAD_FLAGS = [
    (["--steps", "0"], "--steps"),
    (["--steps", "abc"], "--steps"),
    (["--lr", "-1"], "--lr"),
    (["--lr", "nan"], "--lr"),
    (["--device", "tpu"], "--device"),
    (["--hidden-size", "0"], "--hidden-size"),
]
if not torch.cuda.is_available():
    BAD_FLAGS.append((["--device", "cuda"], "CUDA"))


@pytest.mark.parametrize("script", LESSONS)
@pytest.mark.parametrize("argv, mentions", BAD_FLAGS)
def test_bad_flag_is_one_clear_error(script, argv, mentions, capsys):
    err = error_of(load(script).main, argv, capsys)
    assert mentions in err and "error:" in err


@pytest.mark.parametrize("script", LESSONS)
def test_bad_input_as_a_process_has_no_traceback(script, tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    proc = run(script, "--out", not_a_folder / "figures")  # a folder that cannot be made
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f"{script}: error: --out ")
    assert proc.stdout == ""
