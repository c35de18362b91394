"""401, 403, 404: shapes, the carried-and-detached state, the learning targets, bad flags."""
import inspect
import math
import re

import numpy as np
import pytest
import torch

from conftest import error_of, final_values, load, start

LESSONS = ["401_rnn_regressor.py", "403_lstm_sin_cos.py", "404_rnn_next_step.py"]


def test_401_windows_follow_the_wave():
    m = load("401_rnn_regressor.py")
    t, x, y = m.window(3)
    assert x.shape == y.shape == (1, m.TIME_STEP, 1)  # (batch, time, feature)
    assert t[0] == pytest.approx(3 * math.pi) and t[-1] < 4 * math.pi
    assert torch.allclose(x.flatten(), torch.sin(torch.from_numpy(t)).float())
    assert torch.allclose(y.flatten(), torch.cos(torch.from_numpy(t)).float())
    t_new, _, _ = m.window(3, offset=0.5)  # the test's points: halfway between the training's
    np.testing.assert_allclose(t_new - t, 0.5 * math.pi / m.TIME_STEP)


def phase_gap(times, others):
    """The smallest distance, in time, between a point of `times` and one of `others`, both
    taken around one period of the sine (mod 2*pi)."""
    a, b = np.mod(times, 2 * math.pi)[:, None], np.mod(others, 2 * math.pi)[None, :]
    gap = np.abs(a - b)
    return float(np.minimum(gap, 2 * math.pi - gap).min())


@pytest.mark.parametrize("script", LESSONS)
def test_the_test_reads_points_that_training_never_read(script, monkeypatch):
    """The final: numbers come from samples at points of the wave that no training window held,
    with the state training ended with carried in."""
    m = load(script)
    read = {"train": [], "test": []}
    window, phase = m.window, ["train"]

    def recorded(k, device="cpu", offset=0.0):
        t, x, y = window(k, device, offset)
        read[phase[0]].append(t)
        return t, x, y

    monkeypatch.setattr(m, "window", recorded)
    torch.manual_seed(0)
    model = m.LSTM() if script.startswith("403") else m.RNN()
    state, _ = m.train(model, steps=4)  # windows 0-3: every point training ever reads
    assert len(read["train"]) == 4
    phase[0] = "test"
    if script.startswith("404"):
        _, _, curves = m.next_step_and_forecast(model, state, 4, n=60)
        scored = np.concatenate([curves["t"], curves["t"] + math.pi / m.TIME_STEP,
                                 curves["t_future"]])
    else:
        _, curves = m.evaluate(model, state, 4, windows=3)
        scored = curves["t"]
    dt = math.pi / m.TIME_STEP
    trained = np.concatenate(read["train"])
    assert phase_gap(scored, trained) > 0.49 * dt  # halfway between two training points
    assert phase_gap(np.concatenate(read["test"]), trained) > 0.49 * dt  # the lead-in too
    # what the check catches: the old test windows, further along at the training's points
    assert phase_gap(window(4 + 3)[0], trained) < 1e-6


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
    assert m.FORECAST * math.pi / m.TIME_STEP == pytest.approx(2 * math.pi)  # 2*pi ahead


def test_404_forecast_feeds_on_its_own_outputs():
    m = load("404_rnn_next_step.py")
    torch.manual_seed(0)
    model = m.RNN()
    calls = []
    model.rnn.register_forward_hook(lambda mod, inputs, output: calls.append(inputs[0].clone()))
    _, _, curves = m.next_step_and_forecast(model, None, k=7, n=m.FORECAST)
    assert len(curves["forecast"]) == m.FORECAST
    lead_in = inspect.signature(m.next_step_and_forecast).parameters["lead_in"].default
    calls = calls[lead_in:]  # the first calls read the lead-in windows, which are not scored
    dt = math.pi / m.TIME_STEP  # time between two samples
    np.testing.assert_allclose(np.diff(curves["t_future"]), dt, rtol=1e-6)
    assert curves["t_future"][0] == pytest.approx(curves["t"][-1] + 2 * dt)
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
    out = capsys.readouterr().out
    values = final_values(out)
    for key, bound in bounds.items():
        assert values[key] <= bound, f"{script}: {key}={values[key]} > {bound}"
    if "mse_fresh_state" in values:  # what the lesson shows: the carried state is worth 10x
        assert values["mse_fresh_state"] >= 10 * values["mse"], values
        # 401, 403: the model printed, the loss as training goes, the by-hand cell on the
        # trained model equal to the layer up to float rounding
        assert "(out): Linear(in_features=32" in out and "step  300/300: loss " in out
        line = next(x for x in out.splitlines() if "_by_hand on the trained model" in x)
        assert float(line.split()[-1]) < 1e-5, line
    if script.startswith("404"):  # what the lesson shows: the forecast's phase slips, so its
        # error keeps growing, period after period, and its cycle is not quite the sine's
        line = next(x for x in out.splitlines() if x.startswith("horizon: "))
        per_period = [float(v) for v in re.findall(r"(\S+) in period \d+", line)]
        assert len(per_period) == 3 and per_period[0] < per_period[1] < per_period[2], line
        assert " its own cycle 40.0" in line and "samples, the sine's 40" in line, line
        # the model printed once, the loss as training goes
        assert out.count("(out): Linear(in_features=32") == 1 and "step  800/800: loss " in out


@pytest.mark.parametrize("script", ["401_rnn_regressor.py", "403_lstm_sin_cos.py"])
def test_fresh_state_evaluation_starts_every_window_from_zeros(script):
    m = load(script)
    torch.manual_seed(0)
    model = m.RNN() if script.startswith("401") else m.LSTM()
    state = model(m.window(0)[1], None if script.startswith("401") else model.init_hidden())[1]
    state = tuple(s + 1.0 for s in state) if isinstance(state, tuple) else state + 1.0
    mse_carried, carried = m.evaluate(model, state, 5, windows=3)
    mse_fresh, fresh = m.evaluate(model, state, 5, windows=3, carry=False)
    assert carried["h"].shape == fresh["h"].shape == (3 * m.TIME_STEP, m.HIDDEN_SIZE)
    assert mse_carried != mse_fresh
    # from zeros, each window is what the model gives for that window alone (after the lead-in)
    lead_in = inspect.signature(m.evaluate).parameters["lead_in"].default
    for i, k in enumerate(range(5 + lead_in, 8 + lead_in)):
        alone, _ = m.evaluate(model, None if script.startswith("401") else model.init_hidden(),
                              k, windows=1, lead_in=0)
        assert alone == pytest.approx(float(np.mean(
            (fresh["prediction"][i * m.TIME_STEP:(i + 1) * m.TIME_STEP]
             - fresh["target"][i * m.TIME_STEP:(i + 1) * m.TIME_STEP]) ** 2)), rel=1e-5)
    if script.startswith("403"):  # h = o * tanh(c) stays inside (-1, 1)
        assert np.abs(carried["h"]).max() < 1 and carried["c"].shape == carried["h"].shape


def test_403_step_by_step_state_is_the_one_call_state():
    m = load("403_lstm_sin_cos.py")
    torch.manual_seed(0)
    model = m.LSTM()
    _, x, _ = m.window(3)
    r_out, (h, c) = model.lstm(x, model.init_hidden())
    _, curves = m.evaluate(model, model.init_hidden(), 3, windows=1, offset=0.0, lead_in=0)
    np.testing.assert_allclose(curves["h"], r_out[0].detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(curves["c"][-1], c[0, 0].detach().numpy(), atol=1e-6)


def test_404_horizon_starts_from_true_inputs_then_feeds_on_itself():
    m = load("404_rnn_next_step.py")
    torch.manual_seed(0)
    model = m.RNN()
    errors, forecasts = m.horizon(model, None, k=7, starts=4, n=30)
    dt = math.pi / m.TIME_STEP  # time between two samples
    assert errors.shape == forecasts.shape == (4, 30) and np.isfinite(errors).all()
    # the first starting point reads the lead-in windows from window 7 and the window after
    # them: its forecast is next_step_and_forecast's, which scores that window
    _, _, curves = m.next_step_and_forecast(model, None, k=7, n=29)
    assert errors[0, 0] == pytest.approx((curves["prediction"][-1]
                                          - np.sin(curves["t"][-1] + dt)) ** 2, rel=1e-5)
    np.testing.assert_allclose(errors[0, 1:], (curves["forecast"]
                                               - np.sin(curves["t_future"])) ** 2, rtol=1e-5)


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


def test_bad_input_as_a_process_has_no_traceback(tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    procs = {script: start(script, "--out", not_a_folder / "figures")  # cannot be made
             for script in LESSONS}  # all at once: most of it is starting Python and torch
    for script, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 2, script
        assert "Traceback" not in err, script
        assert err.strip().splitlines()[-1].startswith(f"{script}: error: --out ")
        assert out == "", script


def test_401_rnn_by_hand_is_what_nn_rnn_computes():
    m = load("401_rnn_regressor.py")
    torch.manual_seed(0)
    rnn = m.RNN(hidden_size=16).rnn
    x = torch.randn(3, 12, 1)  # batch 3, 12 time steps
    for h0 in (None, torch.randn(1, 3, 16)):
        r_out, h_n = rnn(x, h0)
        by_hand, h_by_hand = m.rnn_by_hand(rnn, x, h0)
        assert by_hand.shape == r_out.shape and h_by_hand.shape == h_n.shape == (1, 3, 16)
        torch.testing.assert_close(by_hand, r_out, atol=1e-6, rtol=0)
        torch.testing.assert_close(h_by_hand, h_n, atol=1e-6, rtol=0)


def test_403_lstm_by_hand_is_what_nn_lstm_computes():
    m = load("403_lstm_sin_cos.py")
    torch.manual_seed(0)
    lstm = m.LSTM(hidden_size=16).lstm
    x = torch.randn(3, 12, 1)
    for state in (None, (torch.randn(1, 3, 16), torch.randn(1, 3, 16))):
        r_out, (h_n, c_n) = lstm(x, state)
        by_hand, (h, c) = m.lstm_by_hand(lstm, x, state)
        assert h.shape == c.shape == (1, 3, 16)
        for ours, theirs in ((by_hand, r_out), (h, h_n), (c, c_n)):
            torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=0)
    # the gates are read in PyTorch's order: with the forget gate's bias at +50 and the input
    # gate's at -50, c is kept and nothing is written, whatever the input
    with torch.no_grad():
        lstm.bias_ih_l0.zero_()
        lstm.bias_ih_l0[:16] = -50.0
        lstm.bias_ih_l0[16:32] = 50.0
    c0 = torch.randn(1, 3, 16)
    _, (_, c) = m.lstm_by_hand(lstm, x, (torch.zeros(1, 3, 16), c0))
    torch.testing.assert_close(c, c0)


def test_404_cycle_length_of_a_known_wave():
    m = load("404_rnn_next_step.py")
    n = np.arange(2000)
    assert m.cycle_length(np.sin(2 * math.pi * n / 40.5 + 0.3)) == pytest.approx(40.5, abs=1e-3)
    assert math.isnan(m.cycle_length(np.ones(50)))  # no crossing: no cycle to measure
