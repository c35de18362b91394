# %% [markdown]
# # 403 · An LSTM with its (h, c) state in plain sight
#
# **You will learn** what an LSTM carries from step to step, the pair (h, c), how its gates
# compute it, and how to carry and detach both halves. **Read first:** 401 (the same task, with
# a plain RNN).
#
# The task of 401, sin(t) in and cos(t) out, with an LSTM instead of a plain RNN. An RNN carries
# one tensor from step to step; an LSTM carries two:
#
# - **h**, the hidden state: the LSTM's output at each step, what the next layer reads. It is
#   `o * tanh(c)`, with the output gate `o` between 0 and 1, so h stays inside (-1, 1).
# - **c**, the **cell state**: the long-term memory. The forget gate decides what of c to keep,
#   the input gate what to add; nothing squashes c itself, so it can grow past ±1.
#
# Run `python 403_lstm_sin_cos.py`, or this notebook. In about 5 s on a 2-core CPU it prints
# the model, the loss five times, and last
# `final: mse=0.00000... mse_fresh_state=0.29... wall_s=...` (the target is mse <= 0.005); its
# figures go to `results/`.

# %%
import math

import numpy as np
import torch
from torch import nn

# %% [markdown]
# ## Hyperparameters
#
# Edit them here, or pass them as flags: `NUM_LAYERS` is `--num-layers` (`--help` lists all).

# %% tags=["parameters"]
TIME_STEP = 10       # samples per window; window k covers [k*pi, (k+1)*pi)
HIDDEN_SIZE = 32     # size of h and of c
NUM_LAYERS = 1       # stacked LSTM layers
STEPS = 300          # training steps, one window each
LR = 0.02            # Adam's learning rate at the start; it decays to 0 over STEPS (cosine)
EVAL_WINDOWS = 10    # windows of new points, after training, on which the final mse is measured
SEED = 1             # same seed, same machine and build: same numbers
OUT = "results"      # folder for the figures

# %% [markdown]
# ## The data: the wave of 401
#
# Window k holds TIME_STEP samples of sin over [kπ, (k+1)π) and the cos at the same samples, as
# (batch=1, time=TIME_STEP, feature=1) tensors; the windows follow one another along the wave. As
# in 401, window k + 2 holds the samples of window k again (to within float rounding), so the
# test reads new points (`offset=0.5`), each halfway between two that training read.

# %%
def window(k, device="cpu", offset=0.0):
    """Window k: times t = k*pi + (n + offset)*dt, n = 0..TIME_STEP-1, a (TIME_STEP,) numpy array;
    input sin(t) and target cos(t), each (batch=1, time=TIME_STEP, feature=1)."""
    dt = math.pi / TIME_STEP                               # time between two samples
    t = k * math.pi + dt * (np.arange(TIME_STEP) + offset)  # float64: exact to float32's eye
    x = torch.from_numpy(np.sin(t).astype(np.float32)).view(1, TIME_STEP, 1).to(device)
    y = torch.from_numpy(np.cos(t).astype(np.float32)).view(1, TIME_STEP, 1).to(device)
    return t, x, y


# %% [markdown]
# ## The model, and a state made by hand
#
# `init_hidden` builds the zero pair the LSTM starts from, each half
# **(num_layers, batch, hidden)**: `batch_first=True` reorders x and the output, never the state.
# `forward` takes the pair and returns the pair after the last step, ready to be passed in again.
# As in 401, a Linear layer reads h at every step: many-to-many.

# %%
class LSTM(nn.Module):
    def __init__(self, hidden_size=HIDDEN_SIZE, num_layers=NUM_LAYERS):
        super().__init__()
        self.lstm = nn.LSTM(input_size=1, hidden_size=hidden_size, num_layers=num_layers,
                            batch_first=True)  # batch_first: x is (batch, time, feature)
        self.out = nn.Linear(hidden_size, 1)

    def init_hidden(self, batch_size=1, device="cpu"):
        """A zero (h, c) pair, each (num_layers, batch, hidden): batch_first does not apply."""
        shape = (self.lstm.num_layers, batch_size, self.lstm.hidden_size)
        return torch.zeros(shape, device=device), torch.zeros(shape, device=device)

    def forward(self, x, state):
        # x:     (batch, time, 1)
        # state: (h, c), each (num_layers, batch, hidden)
        # r_out: (batch, time, hidden), the top layer's h at every time step
        r_out, (h, c) = self.lstm(x, state)
        return self.out(r_out), (h, c)  # (batch, time, 1), and the state after the last step


# %% [markdown]
# ## Inside nn.LSTM: the gates by hand
#
# Where 401's cell computes one tanh, the LSTM's computes four gates from the same two products,
# with the weights named as in 401:
#
# z_t = x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh, 4 × hidden numbers, cut into four quarters in
# PyTorch's order i, f, g, o (its docs name the four blocks of W_ih: W_ii, W_if, W_ig, W_io).
# With σ the sigmoid, between 0 and 1:
#
# - input gate  i_t = σ(1st quarter): how much of g to write
# - forget gate f_t = σ(2nd quarter): how much of c to keep
# - candidate   g_t = tanh(3rd quarter): what to write
# - output gate o_t = σ(4th quarter): how much of c to show
#
# c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t,    h_t = o_t ⊙ tanh(c_t)
#
# (⊙ multiplies element by element.) From c_{t-1} to c_t, c is only scaled and added to.
# `lstm_by_hand` computes this from the layer's own weights; after training, the run prints its
# largest difference from `nn.LSTM` (`by_hand_gap`): float rounding.

# %%
def lstm_by_hand(lstm, x, state=None):
    """What lstm(x, state) returns, (r_out, (h_n, c_n)), for a one-layer, batch-first nn.LSTM."""
    zeros = x.new_zeros(x.size(0), lstm.hidden_size)                  # (batch, hidden)
    h, c = (zeros, zeros) if state is None else (state[0][0], state[1][0])
    outputs = []
    for t in range(x.size(1)):                                        # x: (batch, time, in)
        z = (x[:, t] @ lstm.weight_ih_l0.T + lstm.bias_ih_l0
             + h @ lstm.weight_hh_l0.T + lstm.bias_hh_l0)              # (batch, 4 * hidden)
        i, f, g, o = z.chunk(4, dim=1)                                # each (batch, hidden)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + i * g
        h = o * torch.tanh(c)
        outputs.append(h)
    return torch.stack(outputs, dim=1), (h.unsqueeze(0), c.unsqueeze(0))


@torch.no_grad()
def by_hand_gap(model, state, k, device="cpu"):
    """The largest difference between lstm_by_hand and nn.LSTM on window k, from state."""
    x = window(k, device)[1]
    r_out, (_, c) = model.lstm(x, state)
    mine, (_, c_mine) = lstm_by_hand(model.lstm, x, state)
    return max((mine - r_out).abs().max().item(), (c_mine - c).abs().max().item())


# %% [markdown]
# ## Carrying (h, c), and detaching both halves
#
# As in 401, the state a window ends with starts the next one, and the gradient runs back through
# the steps of one window only (backpropagation through time, truncated at the window's start:
# truncated BPTT, the subject of lesson 407). h and c both come out attached to the window's
# graph. Detach only one, and the next `backward()` still runs into the previous window's freed
# graph through the other, and fails. Detaching both keeps the numbers, what the network
# remembers, and drops the history.

# %%
def train_step(model, optimizer, x, y, state):
    """One window: forward, loss, backward, update. Returns (prediction, next (h, c), loss)."""
    prediction, (h, c) = model(x, state)  # (1, TIME_STEP, 1), each (NUM_LAYERS, 1, HIDDEN_SIZE)
    h, c = h.detach(), c.detach()  # <-- both halves: keep the numbers, drop the graphs

    loss = nn.functional.mse_loss(prediction, y)  # a scalar: the mean over the window
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return prediction.detach(), (h, c), loss.item()


def train(model, steps=STEPS, lr=LR, device="cpu"):
    """Train on windows 0..steps-1 in order, carrying (h, c) from window to window.
    Returns the last (h, c) and a history: each step's prediction and loss."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    history = {"prediction": [], "loss": []}

    state = model.init_hidden(batch_size=1, device=device)  # zeros, once, before the first window
    print(f"training: {steps} steps, one window each, on {device}")
    try:
        for step in range(steps):
            _, x, y = window(step, device)
            prediction, state, loss = train_step(model, optimizer, x, y, state)
            scheduler.step()
            history["prediction"].append(prediction.flatten().cpu().numpy())
            history["loss"].append(loss)
            if (step + 1) % max(1, steps // 5) == 0:
                print(f"step {step + 1:4d}/{steps}: loss {loss:.2e}")
    except KeyboardInterrupt:  # Ctrl-C: main() says where, in one line
        raise KeyboardInterrupt(f"at step {step + 1} of {steps}") from None
    return state, history


# %% [markdown]
# ## Testing on new points, with (h, c) carried and without
#
# As in 401: the model goes on along the wave on the new points, carrying (h, c); two lead-in
# windows are read, not scored, then EVAL_WINDOWS windows are. Then the same windows with
# `carry=False`, each from a zero pair.
#
# `nn.LSTM` returns h at every step (`r_out`) but c only after the last. To draw c too, `evaluate`
# feeds one sample at a time, carrying the pair: the numbers of one call on the whole window, to
# float rounding (a test pins it to 1e-6).

# %%
@torch.no_grad()
def evaluate(model, state, first_window, windows=EVAL_WINDOWS, device="cpu", carry=True,
             offset=0.5, lead_in=2):
    """The mean mse on `windows` windows of new points, after `lead_in` windows read, not scored;
    carry=False starts every window from a zero pair. Returns it and the curves to draw."""
    errors, curves = [], {"t": [], "target": [], "prediction": [], "h": [], "c": []}
    for k in range(first_window, first_window + lead_in + windows):
        t, x, y = window(k, device, offset)
        if not carry:
            state = model.init_hidden(batch_size=1, device=device)
        hs, cs = [], []
        for i in range(x.size(1)):                        # one sample at a time:
            _, state = model.lstm(x[:, i:i + 1], state)   # x[:, i:i + 1] is (1, 1, 1)
            hs.append(state[0][-1, 0])                    # top layer's h, (hidden,)
            cs.append(state[1][-1, 0])                    # top layer's c, (hidden,)
        if k < first_window + lead_in:
            continue                                      # the lead-in: read, not scored
        prediction = model.out(torch.stack(hs)).view(1, -1, 1)  # (1, TIME_STEP, 1)
        errors.append(nn.functional.mse_loss(prediction, y).item())
        values = (t, y.flatten(), prediction.flatten(), torch.stack(hs), torch.stack(cs))
        for key, value in zip(curves, values):  # h, c: each (TIME_STEP, hidden)
            curves[key].append(value if key == "t" else value.cpu().numpy())
    return float(np.mean(errors)), {key: np.concatenate(v) for key, v in curves.items()}


# %% [markdown]
# ## Pictures and the command line
#
# The folded cell below is the plumbing, alike in every lesson: figures, flags and `main()`.

# %% jupyter={"source_hidden": true} cellView="form"
# @title Plumbing: figures, flags and main()
import argparse
import base64
import os
import re
import sys
import time

import matplotlib.pyplot as plt
from matplotlib.animation import FuncAnimation

NAME = "403_lstm_sin_cos"  # names the command and the figures; no __file__ needed


def save(fig, name, animation=None):
    """Save fig (or its animation, as a GIF) to OUT/name under a temporary name, moved into place
    once whole, so a run stopped halfway leaves the earlier file; show it where it can be shown."""
    path = os.path.join(OUT, name)
    part = f"{path}.{os.getpid()}.part{os.path.splitext(name)[1]}"  # savefig reads the extension
    try:
        if animation:
            animation.save(part, writer="pillow", fps=6, dpi=100)
        else:
            fig.savefig(part, dpi=100)
        os.replace(part, path)
    finally:
        if os.path.exists(part):
            os.remove(part)
    if animation and "inline" in plt.get_backend():  # a notebook plays the GIF itself
        from IPython.display import display
        with open(path, "rb") as gif:
            data = base64.b64encode(gif.read()).decode("ascii")
        # image/gif for Jupyter; an <img> too, for nbconvert's HTML, which shows no image/gif
        display({"image/gif": data, "text/html": f'<img src="data:image/gif;base64,{data}">'},
                raw=True)
    else:
        plt.show()  # inline in a notebook, a window with a screen; nothing without one (Agg)
    plt.close(fig)


def draw(history, carried, fresh, mse, mse_fresh):
    """The test windows and the loss; what the state holds; the training, as a GIF."""
    t, steps = carried["t"], len(history["loss"])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    ax1.plot(t, np.sin(t), color="0.7", lw=1, label="input sin(t)")
    ax1.plot(t, carried["target"], "r-", lw=2, label="target cos(t)")
    ax1.plot(t, carried["prediction"], "b--", lw=2, label="prediction")
    ax1.set(title=f"{EVAL_WINDOWS} windows of new points, state carried (mse={mse:.1e})",
            xlabel="t", ylim=(-1.2, 1.6))
    ax1.legend(loc="upper center", ncol=3, fontsize=9)
    ax2.semilogy(range(1, steps + 1), history["loss"])
    ax2.set(title="training loss (one window per step)", xlabel="step", ylabel="mse")
    fig.suptitle("403: nn.LSTM reads sin(t) and predicts cos(t), carrying (h, c)")
    save(fig, f"{NAME}.png")

    # Both predictions, then the carried run's h and c side by side, each on its own scale.
    fig, axes = plt.subplot_mosaic([["top", "top"], ["h", "c"]], figsize=(11, 8),
                                   height_ratios=[1, 1.3], layout="constrained")
    axes["top"].plot(t, carried["target"], "r-", lw=2, label="target cos(t)")
    axes["top"].plot(t, carried["prediction"], "b--", lw=2,
                     label=f"(h, c) carried (mse={mse:.1e})")
    axes["top"].plot(t, fresh["prediction"], ".:", color="darkorange",
                     label=f"zero (h, c) every window (mse={mse_fresh:.1e})")
    axes["top"].vlines(t[::TIME_STEP] - math.pi / TIME_STEP / 2, -1.6, 2.0, color="0.4", lw=0.8,
                       ls="--")  # between two windows' samples
    axes["top"].set(xlabel="t (dashed lines: window boundaries)", ylim=(-1.6, 2.0),
                    title="the same test windows, with the state carried and from zeros")
    axes["top"].legend(loc="upper center", ncol=3, fontsize=9)
    for key, what in (("h", "h = o * tanh(c)"), ("c", "c, the cell state")):
        values, limit = carried[key], np.abs(carried[key]).max()
        image = axes[key].imshow(values.T, aspect="auto", cmap="RdBu_r", vmin=-limit,
                                 vmax=limit, interpolation="nearest")
        axes[key].set(title=f"{what}, carried: from {values.min():.2f} to {values.max():.2f}",
                      xlabel=f"step ({EVAL_WINDOWS} windows of {TIME_STEP})", ylabel="unit")
        fig.colorbar(image, ax=axes[key], pad=0.01)
    fig.suptitle("403: what the LSTM's state holds")
    save(fig, f"{NAME}_state.png")

    fig, ax = plt.subplots(figsize=(8, 3.5))
    (target,) = ax.plot([], [], "r-", lw=2, label="target cos(t)")
    (prediction,) = ax.plot([], [], "b--", lw=2, label="prediction")
    ax.set(xlim=(0, 6 * math.pi), ylim=(-1.4, 1.9), xlabel="time within the last six windows")
    ax.legend(loc="upper center", ncol=2)

    def frame(i):  # the last six windows after step i, time counted from the first of them
        first = max(0, i - 5)
        t = np.concatenate([window(k)[0] for k in range(first, i + 1)]) - first * math.pi
        target.set_data(t, np.cos(t + first * math.pi))
        prediction.set_data(t, np.concatenate(history["prediction"][first:i + 1]))
        ax.set_title(f"403 training: step {i + 1}/{steps}, loss {history['loss'][i]:.1e}")

    frame(0)
    fig.tight_layout()  # once: a layout engine would redo the layout at every frame
    frames = np.unique(np.linspace(0, steps - 1, min(steps, 30)).astype(int))
    save(fig, f"{NAME}.gif", FuncAnimation(fig, frame, frames=frames, interval=160))


def constant_comments():
    """{NAME: the comment beside it in the parameters cell}, for --help: read from this file, or
    in a notebook (no file) from the cells the kernel has run."""
    path = globals().get("__file__")
    text = open(path, encoding="utf-8").read() if path else "\n".join(globals().get("In", []))
    return dict(re.findall(r"^([A-Z][A-Z0-9_]*) = [^#\n]*#\s*(.+)$", text, re.MULTILINE))


def parse_flags(argv=None):
    """Every UPPER_CASE constant above is a flag (STEPS: --steps) with its value as the default;
    the flags given set their constants. Numbers must be more than 0 (0 too where the default
    is 0), but SEED is any whole number. Then --device and --no-plot."""
    parser = argparse.ArgumentParser(prog=f"{NAME}.py", description="403 - LSTM regression "
                                     "with an explicit (h, c) state.")
    constants = {key: value for key, value in globals().items()
                 if key.isupper() and key != "NAME" and isinstance(value, (int, float, str))}
    said = constant_comments()
    for key, default in constants.items():  # True/False: --name and --no-name
        how = ({"action": argparse.BooleanOptionalAction} if isinstance(default, bool)
               else {"type": type(default)})
        parser.add_argument("--" + key.lower().replace("_", "-"), dest=key, default=default,
                            help=f"{said.get(key, '')} (default: {default!r})".replace("%", "%%"),
                            **how)
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
        model = LSTM(HIDDEN_SIZE, NUM_LAYERS).to(args.device)
        print(model)
        state, history = train(model, STEPS, LR, args.device)
        if NUM_LAYERS == 1:  # lstm_by_hand computes one layer
            gap = by_hand_gap(model, state, STEPS, args.device)
            print(f"lstm_by_hand on the trained model: largest difference from nn.LSTM {gap:.1e}")
        mse, carried = evaluate(model, state, STEPS, EVAL_WINDOWS, args.device)
        mse_fresh, fresh = evaluate(model, None, STEPS, EVAL_WINDOWS, args.device, carry=False)
        wall_s = time.perf_counter() - start
        if not args.no_plot:
            draw(history, carried, fresh, mse, mse_fresh)
            print(f"figures: {os.path.join(OUT, NAME)}.png, _state.png, .gif")
    except KeyboardInterrupt as stop:  # Ctrl-C: one line, and the shell's exit status for it
        print(" ".join(["interrupted", *stop.args]), file=sys.stderr)
        raise SystemExit(130) from None  # from None: a notebook shows no chained traceback
    print(f"final: mse={mse:.6f} mse_fresh_state={mse_fresh:.6f} wall_s={wall_s:.2f}")
    return mse


# %% [markdown]
# ## Run it
#
# The next cell runs the lesson with the constants above. With flags, in a notebook:
# `%run ../403_lstm_sin_cos.py --steps 50` (from `notebooks/`; `../../` from `notebooks/zh/`).

# %%
if __name__ == "__main__":
    main()

# %% [markdown]
# ## Reading the results
#
# The `final:` line gives the mean squared error on the 10 windows of new points with (h, c)
# carried (target: 0.005 or less), then from a zero pair at every window, then the seconds.
# Over seeds 1 to 3: 0.000003 to 0.000123 carried, 0.294 to 0.435 from zeros.
#
# - **Left picture**: target cos (red) and prediction (dashed) on the test windows, one on the
#   other.
# - **Right picture**: the loss of each training window.
# - **The GIF**: the six latest training windows, from a flat guess to the cosine.
#
# ### What the state holds (`403_lstm_sin_cos_state.png`)
#
# Started from zeros, the LSTM's squared error is 0.93 to 1.04 at a window's first sample, and
# still 0.24 to 0.45 at the fifth (seeds 1 to 3): carried, the state already knows which way
# the wave is going.
#
# The two heatmaps are the carried run's h and c, unit by unit (rows) at every step (columns),
# each on its own colour scale (their ranges in the titles). h stays inside the (-1, 1) that
# `o * tanh(c)` allows, while c goes past ±1, up to 2.40 to 3.23 in size. The same units are
# active in both, since h is read out of c.

# %% [markdown]
# ## Things to try
#
# What each gave (seed 1):
#
# - `NUM_LAYERS = 2` (`--num-layers 2`): `init_hidden` then makes (2, 1, 32) tensors, one state
#   per layer, and `r_out` is the top layer's h; `mse=0.000034`.
# - In `train_step`, detach only h (`h, c = h.detach(), c`): the second step stops with "Trying
#   to backward through the graph a second time", through c.
# - Replace Adam by `torch.optim.SGD(model.parameters(), lr=0.001)` and delete
#   `scheduler.step()`: SGD moves each weight by lr times its gradient, here small, so the model
#   hardly leaves "always say 0": `mse=0.498`. At lr 0.05, constant, SGD learns (0.00022 to
#   0.00095, seeds 1 to 3); with the cosine decay it stalls at 0.28 to 0.35. Adam moves each
#   weight by about lr per step, whatever its gradient's size.

# %% [markdown]
# ## Measured on
#
# AMD EPYC, 2 cores (`lscpu`), torch 2.14.1, `OMP_NUM_THREADS=1`, the defaults (a run took
# 4.1 s):
#
# | seed | mse | mse_fresh_state | from zeros, error at samples 1 / 5 | h | c | by_hand_gap |
# |---:|---:|---:|---:|---:|---:|---:|
# | 1 | 0.000003 | 0.294 | 0.93 / 0.24 | -0.52 to 0.78 | -1.74 to 2.40 | 1.2e-07 |
# | 2 | 0.000123 | 0.435 | 1.04 / 0.45 | -0.91 to 0.94 | -3.20 to 3.23 | 1.8e-07 |
# | 3 | 0.000109 | 0.380 | 0.96 / 0.37 | -0.87 to 0.76 | -2.92 to 2.47 | 2.4e-07 |
#
# SGD at lr 0.05, seeds 1, 2, 3: 0.000250, 0.000221, 0.000952 (constant); 0.302, 0.346, 0.284
# (cosine decay).
