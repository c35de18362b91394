# %% [markdown]
# # 404 · Predict the next sample, then forecast on your own outputs
#
# Lessons 401 and 403 map one series to another. Here the target is the input itself, one sample
# later: at every step the RNN says where the sine goes next. That is how sequence models are
# trained to generate — text, audio, prices — and it leads to a second question: once trained,
# can the model go on alone, each of its predictions becoming its next input?
#
# As in 401, one sample is not enough: sin = 0.5 on the way up and on the way down, and the next
# sample differs. The hidden state has to remember the direction; for the first samples of a
# window that memory comes from the window before, so the state is carried from window to
# window.
#
# Run it with `python 404_rnn_next_step.py`, or run this notebook. After 4 to 12 s on a 2-core
# CPU it prints `final: next_step_mse=... forecast_mse=... wall_s=...` (the targets are
# next_step_mse <= 5e-4 and forecast_mse <= 0.02) and saves its figures in `results/`.

# %%
import math

import numpy as np
import torch
from torch import nn

# %% [markdown]
# ## Hyperparameters
#
# Edit them here (in a notebook: in this cell, then run all cells below) or pass them as flags:
# each constant is the flag of the same name, `STEPS` is `--steps`, `HIDDEN_SIZE` is
# `--hidden-size` (`python 404_rnn_next_step.py --steps 400`; `--help` lists them).

# %% tags=["parameters"]
TIME_STEP = 20       # samples per window; window k covers [k*pi, (k+1)*pi)
HIDDEN_SIZE = 32     # size of the RNN's hidden state
STEPS = 800          # training steps, one window each
LR = 0.01            # Adam's learning rate at the start; it decays to 0 over STEPS (cosine)
FORECAST = 40        # samples forecast from the model's own outputs: one period at 20 a window
STARTS = 8           # starting points, spread over one period, for the forecast horizon picture
PERIODS = 25         # how long each of those forecasts runs, in periods of 2*TIME_STEP samples
SEED = 1             # same seed, same machine and build: same numbers
OUT = "results"      # folder for the figures

# %% [markdown]
# ## The data: the target is the input, one sample later
#
# Window k holds TIME_STEP samples of sin, dt = π/TIME_STEP apart, starting at kπ; the target is
# sin at the same times plus dt. Both are (batch=1, time=TIME_STEP, feature=1) tensors.
#
# A window is half a period, so window k + 2 holds the very samples of window k: training reads
# the same 40 points of the wave 400 times over. The evaluation below therefore reads new points,
# `offset=0.5`: each halfway between two points the training read. These are new points of the
# same sine, not a new signal; they ask whether the model learned the wave or its 40 samples.

# %%
def window(k, device="cpu", offset=0.0):
    """Window k of the series: times t, input sin(t) and target sin(t + dt), one sample ahead.
    Its samples are at t = k*pi + (n + offset)*dt for n = 0..TIME_STEP-1.

    t: (TIME_STEP,) numpy array; x, y: (batch=1, time=TIME_STEP, feature=1) float tensors.
    """
    dt = math.pi / TIME_STEP                                # time between two samples
    t = k * math.pi + dt * (np.arange(TIME_STEP) + offset)  # float64: exact to float32's eye
    x = torch.from_numpy(np.sin(t).astype(np.float32)).view(1, TIME_STEP, 1).to(device)
    y = torch.from_numpy(np.sin(t + dt).astype(np.float32)).view(1, TIME_STEP, 1).to(device)
    return t, x, y


# %% [markdown]
# ## The model
#
# `nn.RNN` and a Linear layer applied at every step, as in 401: (batch, time, 1) in,
# (batch, time, 1) out, one prediction of the next sample per input sample. Nothing in it fixes
# the number of time steps, so the same model takes a 20-sample window in training and a single
# sample, (1, 1, 1), when it forecasts.

# %%
class RNN(nn.Module):
    def __init__(self, hidden_size=HIDDEN_SIZE):
        super().__init__()
        self.rnn = nn.RNN(input_size=1, hidden_size=hidden_size, num_layers=1,
                          batch_first=True)  # batch_first: tensors are (batch, time, feature)
        self.out = nn.Linear(hidden_size, 1)

    def forward(self, x, h_state):
        # x:       (batch, time, 1) - any number of time steps, one included
        # h_state: (num_layers=1, batch, hidden), or None for a zero state
        r_out, h_state = self.rnn(x, h_state)  # r_out: (batch, time, hidden)
        return self.out(r_out), h_state        # (batch, time, 1): the next sample at each step


# %% [markdown]
# ## Training: the state carried and detached
#
# As in 401: the state a window ends with starts the next one, and `detach()` keeps its numbers
# while cutting the graph behind it, so that each `backward()` runs through one window only
# (truncated backpropagation through time) and never into a graph already freed.

# %%
def train_step(model, optimizer, x, y, h_state):
    """One window: forward, loss, backward, update. Returns (prediction, next h_state, loss)."""
    prediction, h_state = model(x, h_state)  # (1, TIME_STEP, 1), (1, 1, HIDDEN_SIZE)
    # Keep the numbers, drop the graph: the next window's gradients will stop at its start.
    h_state = h_state.detach()

    loss = nn.functional.mse_loss(prediction, y)  # a scalar: the mean over the window
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return prediction.detach(), h_state, loss.item()


def train(model, steps=STEPS, lr=LR, device="cpu"):
    """Train on windows 0..steps-1 in order, carrying the hidden state from window to window.

    Returns the last hidden state and the loss at every step.
    """
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    losses = []
    h_state = None  # None: nn.RNN starts from zeros on the first window
    print(f"training: {steps} steps, one window each, on {device}")
    try:
        for step in range(steps):
            _, x, y = window(step, device)
            _, h_state, loss = train_step(model, optimizer, x, y, h_state)
            scheduler.step()
            losses.append(loss)
    except KeyboardInterrupt:  # Ctrl-C: main() says where, in one line
        raise KeyboardInterrupt(f"at step {step + 1} of {steps}") from None
    return h_state, losses


# %% [markdown]
# ## Next step, then a forecast on its own outputs
#
# First the model reads a window of new points with the true samples as input and predicts the
# next sample at each step (`next_step_mse`). The state training ended with is carried in,
# through two windows read first and not scored (`lead_in=2`): the step from the training's last
# point to the first halfway point is 1.5 dt, not dt, and that jump sets the state wobbling for
# about a window. Then the true inputs stop. The last prediction is the model's guess for the
# first sample after the window; it goes in as the next input, a (1, 1, 1)
# tensor, and its output as the one after that, FORECAST times. The state carries on all the
# while. From here on the model sees only its own guesses, so any error feeds the next one
# (`forecast_mse`, against the true sine).

# %%
def free_run(model, guess, h_state, n):
    """n samples, each the model's output for the one before; the first input is guess (1, 1, 1)."""
    forecast = []
    for _ in range(n):
        guess, h_state = model(guess, h_state)            # in (1, 1, 1) -> out (1, 1, 1)
        forecast.append(guess)
    return torch.cat(forecast, dim=1).flatten().cpu().numpy()  # (n,)


@torch.no_grad()
def next_step_and_forecast(model, h_state, k, n=FORECAST, device="cpu", offset=0.5, lead_in=2):
    """(a) Next-step predictions on window k + lead_in of new points, `offset` of a sample step
    past the training's, with true inputs and the state carried in: windows k to
    k + lead_in - 1, read first and not scored, bring the state onto the new points. (b) Then n
    samples forecast with no true input: each output is fed back as the next input.

    Returns next_step_mse, forecast_mse and the curves for the figure.
    """
    for j in range(k, k + lead_in):                      # the lead-in windows
        _, h_state = model(window(j, device, offset)[1], h_state)
    t, x, y = window(k + lead_in, device, offset)
    prediction, h_state = model(x, h_state)              # (1, TIME_STEP, 1)
    next_step_mse = nn.functional.mse_loss(prediction, y).item()

    # The last prediction, (1, 1, 1), is the first input of the forecast.
    forecast = free_run(model, prediction[:, -1:, :], h_state, n)  # (n,)
    dt = math.pi / TIME_STEP                             # time between two samples
    t_future = t[-1] + dt * np.arange(2, n + 2)          # (n,): the times the guesses are for
    forecast_mse = float(np.mean((forecast - np.sin(t_future)) ** 2))
    curves = {"t": t, "x": x.flatten().cpu().numpy(), "y": y.flatten().cpu().numpy(),
              "prediction": prediction.flatten().cpu().numpy(), "t_future": t_future,
              "forecast": forecast}
    return next_step_mse, forecast_mse, curves


# %% [markdown]
# ## How far ahead can it go?
#
# One forecast from one starting point says little about how errors grow. `horizon` starts
# STARTS forecasts at new points spread over one period of the wave — each from the state
# training ended with, after reading true samples up to its starting point — and runs each for
# PERIODS periods. It returns the squared error at every number of steps ahead of the last true
# sample (step 1 is the last next-step prediction, made from a true input; every later step was
# fed only the model's own outputs) and the forecasts themselves. `cycle_length` measures the
# period of the model's own cycle from where a forecast crosses zero upwards.

# %%
@torch.no_grad()
def horizon(model, h_state, k, starts=STARTS, n=PERIODS * 2 * TIME_STEP, device="cpu", offset=0.5,
            lead_in=2):
    """Forecasts from `starts` points over one period of the new points that
    next_step_and_forecast reads, from window k on: each n steps ahead of its last true sample.

    Returns the squared error at every step ahead and the forecasts themselves, each (starts, n).
    """
    dt = math.pi / TIME_STEP                              # time between two samples
    period = 2 * TIME_STEP                                # samples in one period of the sine
    errors, forecasts = [], []
    for j in range(starts):
        seen = (lead_in + 1) * TIME_STEP + j * period // starts  # true samples read first
        t = k * math.pi + dt * (np.arange(seen) + offset)
        x = torch.from_numpy(np.sin(t).astype(np.float32)).view(1, seen, 1).to(device)
        prediction, h = model(x, h_state)                 # (1, seen, 1); h: the state after them
        first = prediction[:, -1:, :]                     # 1 step ahead, from a true input
        ahead = np.concatenate([first.flatten().cpu().numpy(), free_run(model, first, h, n - 1)])
        forecasts.append(ahead)
        errors.append((ahead - np.sin(t[-1] + dt * np.arange(1, n + 1))) ** 2)
    return np.array(errors), np.array(forecasts)


def cycle_length(forecast):
    """The forecast's own period, in samples: the mean gap between its upward zero crossings."""
    up = np.flatnonzero((forecast[:-1] < 0) & (forecast[1:] >= 0))
    crossings = up - forecast[up] / (forecast[up + 1] - forecast[up])  # linear interpolation
    return float(np.diff(crossings).mean()) if len(up) > 1 else math.nan  # nan: too short


# %% [markdown]
# ## Pictures and the command line
#
# The folded cell below is the plumbing, alike in every lesson: saving and showing the figures,
# the flags (each sets the constant of the same name) and `main()`.

# %% jupyter={"source_hidden": true} cellView="form"
# @title Plumbing: figures, flags and main()
import argparse
import os
import sys
import time

import matplotlib.pyplot as plt

NAME = "404_rnn_next_step"  # names the command and the figures; no __file__ needed


def save(fig, name):
    """Save fig as OUT/name under a temporary name, moved into place once whole, so a run stopped
    halfway leaves the earlier file; show it where it can be shown."""
    path = os.path.join(OUT, name)
    part = f"{path}.{os.getpid()}.part.png"  # savefig reads the format from the extension
    try:
        fig.savefig(part, dpi=100)
        os.replace(part, path)
    finally:
        if os.path.exists(part):
            os.remove(part)
    plt.show()  # inline in a notebook, a window with a screen; nothing without one (Agg)
    plt.close(fig)


def draw(losses, curves, next_step_mse, forecast_mse, errors, cycle):
    """Next step, loss and forecast in one PNG; how forecasts drift in another."""
    c, dt = curves, math.pi / TIME_STEP
    fig, ax = plt.subplot_mosaic([["next", "loss"], ["forecast", "forecast"]], figsize=(11, 7.5),
                                 layout="constrained")
    # Each target and prediction is drawn at the time it is about: one sample after its input.
    ax["next"].plot(c["t"], c["x"], "k.", ms=8, label="input sin(t)")
    ax["next"].plot(c["t"] + dt, c["y"], "r-", lw=2, label="target: next sample")
    ax["next"].plot(c["t"] + dt, c["prediction"], "b--", lw=2, label="prediction")
    ax["next"].set(title=f"next step on new points (mse={next_step_mse:.1e})", xlabel="t",
                   ylim=(-1.3, 1.7))
    ax["next"].legend(loc="upper center", ncol=3, fontsize=8)
    ax["loss"].semilogy(range(1, len(losses) + 1), losses)
    ax["loss"].set(title="training loss (one window per step)", xlabel="step", ylabel="mse")
    t_all = np.linspace(c["t"][0], c["t_future"][-1], 400)
    ax["forecast"].plot(t_all, np.sin(t_all), "r-", lw=1.5, label="true sin(t)")
    ax["forecast"].plot(c["t"] + dt, c["prediction"], "b-", lw=2, label="next step")
    ax["forecast"].plot(c["t_future"], c["forecast"], "b--", lw=2, label="forecast")
    ax["forecast"].axvline(c["t"][-1] + dt, color="0.6", lw=1, label="true inputs end")
    ax["forecast"].set(title=f"forecast on its own outputs, {FORECAST} samples ahead "
                       f"(mse={forecast_mse:.1e})", xlabel="t", ylim=(-1.3, 1.7))
    ax["forecast"].legend(loc="upper center", ncol=4, fontsize=8)
    fig.suptitle("404: nn.RNN predicts the next sample of a sine, then forecasts from its "
                 "own outputs")
    save(fig, f"{NAME}.png")

    period = 2 * TIME_STEP
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    first = np.arange(1, min(errors.shape[1], 2 * period) + 1)
    ax1.semilogy(first, errors[:, :len(first)].T, color="0.6", lw=0.8)  # a line per start
    ax1.semilogy(first, errors[:, :len(first)].mean(axis=0), "b-", lw=2.5,
                 label=f"mean of {len(errors)}")
    ax1.set(xlabel=f"steps ahead ({period} steps = one period)", ylabel="squared error",
            ylim=(1e-9, None), title="the first two periods, step by step")
    ax1.legend(loc="lower right", fontsize=9)
    periods = errors.shape[1] // period
    per_period = errors[:, :periods * period].reshape(len(errors), periods, period).mean(axis=2)
    p = np.arange(1, periods + 1)
    phase = 2 * math.pi * (cycle - period) / period * p  # how far its cycle has slipped
    ax2.loglog(p, per_period.T, color="0.6", lw=0.8)
    ax2.loglog(p, per_period.mean(axis=0), "bo-", lw=2, ms=4, label="mean per period")
    ax2.loglog(p, 1 - np.cos(phase), "r--", lw=1.5,
               label=f"1 - cos(phase slip), its cycle {cycle:.3f} samples")
    ax2.set(xlabel="periods ahead", ylabel="mean squared error over the period",
            title=f"{periods} periods: the phase slips, the error grows")
    ax2.legend(loc="upper left", fontsize=9)
    for a in (ax1, ax2):
        a.grid(alpha=0.3)
    fig.suptitle(f"404: how forecasts from {len(errors)} starting points drift (grey: each)")
    save(fig, f"{NAME}_horizon.png")


def parse_flags(argv=None):
    """Every UPPER_CASE constant above is a flag (STEPS: --steps) with its value as the default;
    the flags given set their constants. Numbers must be more than 0 (0 too where the default
    is 0), but SEED is any whole number. Then --device and --no-plot."""
    parser = argparse.ArgumentParser(prog=f"{NAME}.py", description="404 - RNN next-step "
                                     "prediction, then a forecast on its own outputs.")
    constants = {key: value for key, value in globals().items()
                 if key.isupper() and key != "NAME" and isinstance(value, (int, float, str))}
    for key, default in constants.items():  # True/False: --name and --no-name
        how = ({"action": argparse.BooleanOptionalAction} if isinstance(default, bool)
               else {"type": type(default)})
        parser.add_argument("--" + key.lower().replace("_", "-"), dest=key, default=default,
                            help=f"(default: {default!r})", **how)
    parser.add_argument("--device", default="auto", help="auto (the accelerator PyTorch finds, "
                        "else the CPU), cpu, or an accelerator: cuda, mps, xpu...")
    parser.add_argument("--no-plot", action="store_true", help="skip the figures")
    if argv is None:  # the command line's flags, or %run's; none from a notebook kernel's own
        kernel = sys.argv[0].endswith("_launcher.py") or "ipykernel" in sys.argv[0]
        argv = [] if kernel else sys.argv[1:]
    args = parser.parse_args(argv)
    for key, default in constants.items():
        value = getattr(args, key)
        if not (isinstance(value, (str, bool)) or key == "SEED" or 0 < value < math.inf
                or value == default == 0):
            parser.error(f"--{key.lower().replace('_', '-')}: must be more than 0, got {value}")
    found = torch.accelerator.current_accelerator() if torch.accelerator.is_available() else None
    if args.device == "auto":
        args.device = found.type if found else "cpu"
    elif args.device not in ("cpu", getattr(found, "type", "cpu")):
        parser.error(f"--device {args.device}: {args.device.upper()} is not available on this "
                     f"machine (try --device auto)")
    if not args.no_plot:  # checked now, not after the training
        try:
            os.makedirs(args.OUT, exist_ok=True)
            if not os.access(args.OUT, os.W_OK):
                raise PermissionError("permission denied")
        except OSError as err:
            parser.error(f"--out {args.OUT}: cannot write figures there ({err.strerror or err})")
    globals().update({key: getattr(args, key) for key in constants})
    return args


def main(argv=None):
    args = parse_flags(argv)
    try:
        start = time.perf_counter()
        torch.manual_seed(SEED)
        model = RNN(HIDDEN_SIZE).to(args.device)
        h_state, losses = train(model, STEPS, LR, args.device)
        next_step_mse, forecast_mse, curves = next_step_and_forecast(
            model, h_state, STEPS, FORECAST, args.device)
        errors, forecasts = horizon(model, h_state, STEPS, STARTS, PERIODS * 2 * TIME_STEP,
                                    args.device)
        cycle = cycle_length(forecasts[0])
        wall_s = time.perf_counter() - start
        if not args.no_plot:
            draw(losses, curves, next_step_mse, forecast_mse, errors, cycle)
            print(f"figures: {os.path.join(OUT, NAME)}.png, _horizon.png")
        per_period = errors.mean(axis=0).reshape(PERIODS, -1).mean(axis=1)  # (PERIODS,)
        said = ", ".join(f"{per_period[p - 1]:.1e} in period {p}" for p in sorted({1, 10, PERIODS})
                         if p <= PERIODS)
        print(f"horizon: mean squared error {errors[:, 0].mean():.1e} one step ahead, {said}; "
              f"its own cycle {cycle:.3f} samples, the sine's {2 * TIME_STEP}")
    except KeyboardInterrupt as stop:  # Ctrl-C: one line, and the shell's exit status for it
        print(" ".join(["interrupted", *stop.args]), file=sys.stderr)
        raise SystemExit(130) from None  # from None: a notebook shows no chained traceback
    print(f"final: next_step_mse={next_step_mse:.6f} forecast_mse={forecast_mse:.6f} "
          f"wall_s={wall_s:.2f}")
    return next_step_mse, forecast_mse


# %% [markdown]
# ## Run it
#
# From a terminal: `python 404_rnn_next_step.py` (flags as above). In a notebook, the next cell
# runs the lesson with the constants of the parameters cell;
# `%run 404_rnn_next_step.py --steps 400` runs the file with flags instead. The path is from the
# notebook's folder: `%run ../404_rnn_next_step.py` from `notebooks/`,
# `%run ../../404_rnn_next_step.py` from `notebooks/zh/`.

# %%
if __name__ == "__main__":
    main()

# %% [markdown]
# ## Reading the results
#
# The last line gives `next_step_mse` on a window of new points (target 5e-4 or less; the default
# run gets 0.000005 on a 2-core Intel Xeon, as on the training's own points) and `forecast_mse`
# over the 40 forecast samples, one period (target 0.02 or less; 0.000128). The line before it,
# `horizon:`, sums up the horizon picture below. The same seed on the same machine and build
# gives the same numbers; another CPU or a GPU may move the small errors in their second digit.
#
# - **Top left:** the true inputs (dots) at their times t; the next sample each one leads to (red)
#   and the prediction (dashed) are drawn one sample later, at the time they are about.
# - **Top right:** the training loss, one window per step.
# - **Bottom:** the true sine, the next-step predictions on the true inputs, and after the grey
#   line the forecast that only ever saw its own outputs, one period ahead.
#
# ### How a forecast drifts (`404_rnn_next_step_horizon.png`)
#
# Eight forecasts, started at new points spread over one period, each run for 25 periods (1,000
# steps) on its own outputs. Left: the squared error at every step of the first two periods,
# against the number of steps ahead of the last true sample; the thick line is the mean of the
# eight. Right: the mean squared error over each period, out to the 25th. With the default run:
# 5.4e-06 one step ahead, where the input was still true; 1.7e-04 over the whole first period,
# 32 times as much, most of that rise in the first ten steps as the model's own small errors
# become its inputs. Then the error keeps growing: 1.1e-03 in period 10, 5.9e-03 in period 25,
# and 9.3e-02 in period 100 (`--periods 100`).
#
# Why: the model has learned a cycle of its own, and it is almost the sine's. Its amplitude stays
# right (after 200 periods the forecast still peaks at 0.993 and -1.003), but its period is
# 40.028 samples, not 40. So in every period the forecast falls 0.028 samples further behind the
# sine: a phase slip of 2π × 0.028 / 40 ≈ 0.0044 radians a period, which adds up, period after
# period. Two sines of the same size a phase φ apart differ by 1 - cos φ ≈ φ²/2 in mean square,
# so the error grows as the square of the horizon: 0.11 radians after 25 periods gives 6e-03,
# 0.44 after 100 gives 9.5e-02. That is the red dashed line, which the measured mean joins from
# about period 10 on, once the phase slip outgrows the early error. The phase error accumulates;
# the amplitude error does not, because the learned cycle keeps pulling the forecast back to its
# size. Seeds 2 and 3 learned cycles of 39.993 and 39.999 samples: 6.0e-05 and 3.5e-06 in period
# 10, 3.7e-04 and 1.0e-05 in period 25.

# %% [markdown]
# ## Things to try
#
# Each with what it gave here (2-core Intel Xeon, seed 1):
#
# - `FORECAST = 200` (five periods of its own outputs): `forecast_mse=0.000132`, a little more
#   than over one period, as the phase begins to slip.
# - `STEPS = 200` (`--steps 200`): `next_step_mse=0.000268` and `forecast_mse=0.016868`, both
#   inside their targets. A next-step error about 50 times the default's becomes a forecast
#   error about 130 times the default's once the model feeds on its own outputs. In the horizon
#   picture the first period's error is 2.0e-02, against the default's 1.7e-04; after that it
#   grows slowly (2.1e-02 in period 10, 3.0e-02 in period 25). Its cycle, 40.073 samples, slips
#   faster than the default's, but its error is already large in the first period, so the slip
#   adds comparatively little.
# - `PERIODS = 100` (`--periods 100`): the horizon picture out to 100 periods, where the error
#   reaches 9.3e-02.
