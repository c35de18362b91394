# %% [markdown]
# # 405 · Why gates exist: vanishing and exploding gradients
#
# In 402 an LSTM named each MNIST digit from its state after row 28. The loss is computed there,
# so the network learns to use row 1 only if gradient gets back to it, through the 27 rows after
# it. This is **backpropagation through time**, and it multiplies: each row back multiplies the
# gradient by that row's Jacobian ∂h_t/∂h_{t-1}. Many factors below 1 shrink it towards nothing,
# the **vanishing gradient problem**; factors above 1 blow it up, the **exploding gradient
# problem**. Gates, in the GRU and the LSTM, are the field's answer to the first. This lesson
# measures both, and what the gates do, on 402's task.
#
# Read first: 401 (the plain RNN), 402 (this task), 403 (the LSTM's gates by hand).
#
# Run it with `python 405_why_gates.py`, or run this notebook. It measures all three cells at
# initialisation, trains one (`CELL`, the plain RNN by default) for two epochs, measures it again
# and ends with `final: test_accuracy=... row1_share=... wall_s=...`. The plain RNN reaches 0.88
# to 0.92 on all 10,000 test images, by seed and thread count; `--cell gru` and `--cell lstm` reach
# 0.98. On a 2-core CPU the default run takes about 10-13 s of CPU time, `--cell gru` or `lstm`
# 17-20 s; figures go to `results/`.

# %%
import math
import time

import torch
import torchvision
from torch import nn

# %% [markdown]
# ## Hyperparameters
#
# Edit them here (in a notebook: in this cell, then run all cells below) or pass them as flags:
# each constant is the flag of the same name, `CELL` is `--cell` (`python 405_why_gates.py
# --cell lstm`; `--help` lists them).

# %% tags=["parameters"]
CELL = "rnn"         # the recurrent layer to train: "rnn" (plain tanh), "gru" or "lstm"
EPOCHS = 2           # passes over the 60,000 training images
BATCH_SIZE = 128     # images per step
LR = 0.01            # Adam's learning rate at the start; it decays linearly to 0 over the run
HIDDEN_SIZE = 64     # size of the state h (and of the LSTM's c)
CLIP = 1.0           # largest gradient norm allowed per step; a larger one is scaled down to it
MAX_STEPS = 0        # stop after this many training steps, for a quick look; 0: all EPOCHS
MEASURED = 2000      # test images the gradient is measured on, at most 10,000
SEED = 1             # same seed, machine, build and thread count: the same numbers
DATA_DIR = ""        # folder holding MNIST/raw/*.gz; "": the first mnist/ found beside this file,
                     # in the working folder, or one or two folders up
OUT = "results"      # folder for the figures

# %% [markdown]
# ## The data
#
# The same data as 402: `torchvision.datasets.MNIST` reads the four archives in `mnist/` into one
# uint8 tensor per set (its `.data`, not the discouraged `Tensor.data`); batches are sliced from
# it and normalised by `to_input`: (batch, time = 28 rows, features = 28 pixels), as a
# `batch_first` layer reads them.

# %%
def load_mnist(root):
    """All of MNIST as four tensors: train_x (60000, 28, 28) uint8, train_y (60000,) int64,
    test_x (10000, 28, 28) uint8, test_y (10000,) int64. Pixels are 0..255; see to_input().
    """
    prepare_mnist(root)  # checks and extracts the archives (with the plumbing, near the end)
    # The files are in place and whole, so torchvision only reads them (download=False).
    train_set = torchvision.datasets.MNIST(root, train=True, download=False)
    test_set = torchvision.datasets.MNIST(root, train=False, download=False)
    return train_set.data, train_set.targets, test_set.data, test_set.targets


def to_input(images):
    """(batch, 28, 28) uint8 pixels -> (batch, 28 rows, 28 pixels) float32, mean 0 and std 1."""
    mean, std = 0.1307, 0.3081  # of MNIST's training pixels, scaled to [0, 1]
    return images.float().div_(255.0).sub_(mean).div_(std)


# %% [markdown]
# ## Three recurrent layers
#
# As in 402, a Linear layer reads the state after row 28; `CELL` picks the recurrent layer:
#
# - `nn.RNN`: h_t = tanh(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh). Every row rewrites all of h
#   through W_hh and a tanh.
# - `nn.LSTM` (lesson 403): gates i_t, f_t, o_t = σ(...) and a candidate g_t = tanh(...), each from
#   x_t and h_{t-1} with its own block of W_ih, W_hh, b_ih, b_hh; then
#   **c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t** and h_t = o_t ⊙ tanh(c_t). No weight matrix and no tanh
#   stand between c_{t-1} and c_t: the old c is scaled by f and added to.
# - `nn.GRU`: gates r_t, z_t = σ(...), a candidate n_t = tanh(x_t W_inᵀ + b_in + r_t ⊙ (h_{t-1}
#   W_hnᵀ + b_hn)), then **h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}**: for each unit, the share z_t
#   of the old state and the rest from the candidate.
#
# (⊙: unit by unit.) All three start alike: each gate's block of W_hh orthogonal (it neither
# stretches nor shrinks a vector; 402 keeps PyTorch's random default), and the gate that keeps
# the old state, the LSTM's f or the GRU's z, with a bias of 1, so that σ(1) ≈ 0.73 of it is kept
# from the start.

# %%
CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}  # CELL's choices


class Classifier(nn.Module):
    def __init__(self, hidden_size=HIDDEN_SIZE, cell=CELL):
        super().__init__()
        self.rnn = CELLS[cell](input_size=28, hidden_size=hidden_size,  # 28 pixels a row
                               batch_first=True)  # x is (batch, time, feature)
        self.out = nn.Linear(hidden_size, 10)
        # PyTorch stacks the weights and biases by gate, hidden_size rows each: RNN one block,
        # GRU (r, z, n), LSTM (i, f, g, o). Orthogonal recurrent weights, block by block; then
        # the gate that keeps the old state, the GRU's z or the LSTM's f, starts mostly open.
        with torch.no_grad():
            for gate in range(self.rnn.weight_hh_l0.shape[0] // hidden_size):
                nn.init.orthogonal_(self.rnn.weight_hh_l0[gate * hidden_size:
                                                          (gate + 1) * hidden_size])
            if cell != "rnn":
                self.rnn.bias_ih_l0[hidden_size:2 * hidden_size].fill_(1.0)
                self.rnn.bias_hh_l0[hidden_size:2 * hidden_size].fill_(0.0)

    def forward(self, x):
        # x: (batch, time=28 rows, input=28 pixels); no state given: h0 = 0 (and c0 = 0)
        r_out, _ = self.rnn(x)  # (batch, 28, hidden): h after every row
        return self.out(r_out[:, -1])  # (batch, hidden) -> (batch, 10): a score per digit


# %% [markdown]
# ## Measuring the gradient at every row
#
# Going back one row, the chain rule gives ∂loss/∂h_{t-1} = ∂loss/∂h_t · ∂h_t/∂h_{t-1}; for the
# plain RNN, ∂h_t/∂h_{t-1} = diag(1 - h_t²) W_hh: the tanh's slope, between 0 and 1 for each unit,
# then W_hh. From row 28 back to row 1 the gradient meets 27 of these. It is what training learns
# from: each weight matrix's gradient sums, over the rows, the gradient reaching row t's
# pre-activation times the matrix's own input there, x_t for W_ih and h_{t-1} for W_hh. Where
# nothing arrives, nothing is learned.
#
# `gradient_by_row` measures what arrives. The layer's output cannot show it: r_out[:, t] is a
# copy of h_t that the recurrence never reads back, so the gradient at it counts only its own uses
# (none before row 28), not the paths through later rows; c_t is not even returned. So here the
# layer is called once per row, with the state from the row before: same weights, same numbers
# (a test pins it), and every h_t and c_t a tensor autograd can differentiate. For each image's
# own loss it returns |∂loss/∂h_t| / |∂loss/∂h_28|, the share of the gradient at the last state
# that reaches the state after row t; for the LSTM also |∂loss/∂c_t| over the same |∂loss/∂h_28|,
# rows 1 to 27 (c_28 reaches the loss only through h_28). The lesson reports medians over the
# first 2,000 test images (see below).
#
# `keep_factor` gives, per image, row and unit, the factor on the state's direct path from one row
# to the next: the RNN's 1 - h_t² (then W_hh), the GRU's z_t, the LSTM's f_t.

# %%
def gradient_by_row(model, x, labels):
    """For each image, |d loss / d h_t| against |d loss / d h_28|, for the state after each row
    t = 1..28: (batch, 28). For the LSTM also |d loss / d c_t| against the same |d loss / d h_28|,
    t = 1..27: (batch, 27). Each image's own loss; one backward pass for the whole batch."""
    state, hs, cs = None, [], []
    for t in range(x.shape[1]):  # the layer itself, one row at a time, so every state is kept
        _, state = model.rnn(x[:, t:t + 1], state)  # (1, batch, hidden), or the LSTM's (h, c)
        hs.append(state[0] if isinstance(state, tuple) else state)
        cs += [state[1]] if isinstance(state, tuple) else []
    loss = nn.functional.cross_entropy(model.out(hs[-1][0]), labels, reduction="sum")
    # The layer returns h_28 and c_28 side by side; the loss never reaches that c_28: left out
    grads = torch.autograd.grad(loss, hs + cs[:-1])  # d loss / d h_t, then d loss / d c_t
    norms = torch.stack([g[0].norm(dim=1) for g in grads], dim=1)  # (batch, 28 or 55)
    norms = norms / norms[:, 27:28]  # image by image, against the gradient at h_28
    return {"h": norms[:, :28]} | ({"c": norms[:, 28:]} if cs else {})


@torch.no_grad()
def keep_factor(model, x):
    """The factor the state's direct path gets at each row, per image, row and unit: the
    LSTM's f_t (on c), the GRU's z_t (on h), the plain RNN's tanh' = 1 - h_t² (before W_hh).
    (batch, 28, hidden)."""
    rnn, size = model.rnn, model.rnn.hidden_size
    r_out, _ = rnn(x)  # (batch, 28, hidden): h_1 ... h_28
    if isinstance(rnn, nn.RNN):
        return 1 - r_out ** 2
    h_before = torch.cat([torch.zeros_like(r_out[:, :1]), r_out[:, :-1]], dim=1)  # h_0 ... h_27
    rows = slice(size, 2 * size)  # f (LSTM) and z (GRU) are the second block of the stack
    return torch.sigmoid(x @ rnn.weight_ih_l0[rows].T + rnn.bias_ih_l0[rows]
                         + h_before @ rnn.weight_hh_l0[rows].T + rnn.bias_hh_l0[rows])


# %% [markdown]
# ## Training
#
# As in 402: the cross-entropy of the scores after row 28, Adam with a learning rate falling
# linearly to 0, and each step's gradient norm clipped at CLIP (a larger gradient is scaled down
# to it), the usual guard against exploding gradients. `clip_grad_norm_` returns the norm from
# before clipping; `train` keeps it, to show how often the guard acted. The accuracy is over all
# 10,000 test images, which training never sees.

# %%
@torch.inference_mode()
def evaluate(model, test_x, test_y, batch_size=1000):
    """Accuracy over all of test_x."""
    model.eval()
    right = sum((model(to_input(test_x[i:i + batch_size])).argmax(dim=1)
                 == test_y[i:i + batch_size]).sum().item()
                for i in range(0, len(test_x), batch_size))
    model.train()
    return right / len(test_x)


def train(model, data, epochs=EPOCHS, batch_size=BATCH_SIZE, lr=LR, max_steps=MAX_STEPS,
          log=print):
    """Adam with a learning rate that decays linearly to 0, the gradient norm clipped at CLIP.

    Returns the test accuracy and each step's gradient norm before clipping, (steps,)."""
    train_x, train_y, test_x, test_y = data
    steps_per_epoch = math.ceil(len(train_x) / batch_size)
    total = epochs * steps_per_epoch
    if max_steps:  # 0: all epochs
        total = min(total, max_steps)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, fused=True)  # one pass a tensor
    scheduler = torch.optim.lr_scheduler.LinearLR(optimizer, 1.0, 0.0, total_iters=total)
    start, step, norms = time.perf_counter(), 0, []
    log(f"training: {total} steps of {batch_size} images on {train_x.device}")
    try:
        for epoch in range(epochs):
            order = torch.randperm(len(train_x)).to(train_x.device)  # (60000,): a new shuffle
            for i in range(steps_per_epoch):
                index = order[i * batch_size:(i + 1) * batch_size]  # (batch,)
                loss = nn.functional.cross_entropy(model(to_input(train_x[index])),
                                                   train_y[index])
                optimizer.zero_grad()
                loss.backward()
                norms.append(nn.utils.clip_grad_norm_(model.parameters(), CLIP))  # before
                optimizer.step()
                scheduler.step()
                step += 1
                if step % math.ceil(total / 4) == 0 or step == total:
                    log(f"step {step}/{total}  loss {loss.item():.4f}  "
                        f"elapsed {time.perf_counter() - start:.1f}s")
                if step == total:
                    break
            if step == total:
                break
    except KeyboardInterrupt:  # Ctrl-C: main() says where, in one line
        raise KeyboardInterrupt(f"at step {min(step + 1, total)} of {total}") from None
    return evaluate(model, test_x, test_y), torch.stack(norms).cpu()


# %% [markdown]
# ## Pictures and the command line
#
# The folded cell below is the plumbing, alike in every lesson: MNIST's files, the figures, the
# flags and `main()`.

# %% jupyter={"source_hidden": true} cellView="form"
# @title Plumbing: MNIST files, figures, flags and main()
import argparse
import contextlib
import io
import os
import re
import sys

import matplotlib.pyplot as plt
from filelock import FileLock
from torchvision.datasets.utils import check_integrity

NAME = "405_why_gates"  # names the command and the figures; no __file__ needed
plt.rcParams["font.size"] = 12  # 11-inch figures shrink to about 88 % in a notebook: 10 pt


class DataError(Exception):
    """MNIST cannot be had; the message says what failed and what to do about it."""


def extracted_ok(path):
    """True when an extracted MNIST file is whole: the magic number of its kind, 2051 (images,
    28 x 28 bytes each after 16) or 2049 (labels, 1 byte each after 8), then a count of items
    that gives the file's length."""
    images = "images" in os.path.basename(path)
    try:
        with open(path, "rb") as f:
            magic, count = int.from_bytes(f.read(4), "big"), int.from_bytes(f.read(4), "big")
            size = os.fstat(f.fileno()).st_size
    except OSError:
        return False
    if magic != (2051 if images else 2049):
        return False
    return size == (16 + count * 28 * 28 if images else 8 + count)


def prepare_mnist(root):
    """Make sure root/MNIST/raw holds the four files extracted and whole; return that folder.

    torchvision's MNIST extracts the archives, and downloads a missing one from its mirrors (md5
    checked). Added here: an extracted file that is short or unreadable is redone, a damaged
    archive is never touched, and runs started together take turns under a file lock."""
    raw = os.path.join(root, "MNIST", "raw")
    if os.path.exists(root) and not os.path.isdir(root):
        raise DataError(f"--data-dir {root} is a file, not a folder: give the folder that holds "
                        f"MNIST/raw/*.gz (or a new folder, to download MNIST there)")
    archives = torchvision.datasets.MNIST.resources  # [(file name, md5)] of the four archives
    if all(extracted_ok(os.path.join(raw, name[:-3])) for name, _ in archives):
        return raw  # the usual case: nothing to write, no lock needed
    for name, md5 in archives:  # a damaged archive stops us before anything is written
        path = os.path.join(raw, name)
        if os.path.isfile(path) and not check_integrity(path, md5):
            raise DataError(f"{path} is damaged (its md5 is not {md5}): restore it "
                            f"(git checkout -- mnist) or delete it so it can be downloaded")
    missing = [name for name, _ in archives if not os.path.isfile(os.path.join(raw, name))]
    try:
        os.makedirs(raw, exist_ok=True)
        lock = FileLock(os.path.join(raw, ".extract.lock"))
        lock.acquire()  # waits while another run extracts
    except OSError as err:
        raise DataError(f"{raw} cannot be written ({err.strerror or err}), and MNIST has to be "
                        f"extracted there: give --data-dir a folder you can write "
                        f"(a copy of this collection's mnist/, say)") from None
    try:
        for name, _ in archives:  # torchvision redoes a missing file, not a broken one
            if not extracted_ok(os.path.join(raw, name[:-3])):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(os.path.join(raw, name[:-3]))
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            torchvision.datasets.MNIST(root, download=True)
    except Exception as err:
        for name in missing:  # a download that is not the original is not kept
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(raw, name))
        if not missing:
            raise DataError(f"{raw}: MNIST could not be extracted ({err})") from None
        raise DataError(f"{raw} has no {', '.join(missing)} and it could not be downloaded (no "
                        f"network?): copy the four archives there from this collection's "
                        f"mnist/MNIST/raw, or run once with a network") from None
    finally:
        lock.release()
    return raw


def find_data_dir():
    """mnist/ beside this file, in the working folder, or one or two folders up (a notebook run
    from notebooks/ or notebooks/zh/); where none has it, the working folder's mnist/, for
    torchvision to fill."""
    here = os.path.dirname(os.path.abspath(__file__)) if "__file__" in globals() else os.getcwd()
    up = os.path.dirname(os.getcwd())
    for folder in (here, os.getcwd(), up, os.path.dirname(up)):
        if os.path.isdir(os.path.join(folder, "mnist", "MNIST", "raw")):
            return os.path.join(folder, "mnist")
    return os.path.join(os.getcwd(), "mnist")


@contextlib.contextmanager
def written_whole(path):
    """Write to a temporary name beside path, moved into place only once complete: a run stopped
    halfway leaves the earlier file, not half a new one."""
    stem, ext = os.path.splitext(path)
    part = f"{stem}.{os.getpid()}.part{ext}"  # same extension: savefig picks the format from it
    try:
        yield part
        os.replace(part, path)
    finally:
        if os.path.exists(part):
            os.remove(part)


def save(fig, name):
    """Save fig as OUT/name, whole; show it where it can be shown (inline, a window); close it."""
    with written_whole(os.path.join(OUT, name)) as part:
        fig.savefig(part, dpi=100)  # 11 inches: 1,100 px wide
    plt.show()  # nothing without a screen (Agg)
    plt.close(fig)


COLOURS = {"rnn": "tab:red", "gru": "tab:green", "lstm": "tab:blue"}
KEPT = {"lstm": "f_t", "gru": "z_t", "rnn": "1 - h_t²"}  # what keep_factor gives, by cell


def draw_gradients(at_start, trained):
    """Median over images of |d loss / d h_t| against |d loss / d h_28|, log scale: every cell
    at initialisation; CELL at initialisation and trained, with the middle 90 % of images."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 5), sharey=True, layout="constrained")
    for cell, grads in at_start.items():
        left.plot(range(1, 29), grads["h"].median(dim=0).values, "o-", ms=3, c=COLOURS[cell],
                  label=f"{cell}: h_t")
        if "c" in grads:
            left.plot(range(1, 28), grads["c"].median(dim=0).values, "s--", ms=3,
                      c=COLOURS[cell], label=f"{cell}: c_t")
    for key, style in (("h", "o-"), ("c", "s--")):
        if key in trained:
            rows = range(1, trained[key].shape[1] + 1)
            right.plot(rows, at_start[CELL][key].median(dim=0).values, style, ms=3, c="0.6",
                       label=f"{key}_t at initialisation")
            right.plot(rows, trained[key].median(dim=0).values, style, ms=3, c=COLOURS[CELL],
                       label=f"{key}_t trained")
    low, high = torch.quantile(trained["h"], torch.tensor([0.05, 0.95]), dim=0)
    right.fill_between(range(1, 29), low, high, color=COLOURS[CELL], alpha=0.15,
                       label="h_t trained, middle 90 %\nof images")
    right.axhline(1, c="k", lw=0.8)
    left.set(yscale="log", xlabel="row t", ylabel="share of h_28's gradient",
             title="every cell, at initialisation")
    right.set(xlabel="row t", title=f"{CELL}: at initialisation and trained")
    for ax in (left, right):
        ax.legend(fontsize=10)
        ax.grid(alpha=0.3, which="both")
    fig.suptitle(f"405: |d loss / d state after row t| / |d loss / d h_28|, median of {MEASURED} "
                 f"test images")
    save(fig, f"{NAME}.png")


def draw_exploding(norms, before, after):
    """The gradient norm of each training step, before clipping, and W_hh's singular values,
    gate block by gate block, at initialisation and trained."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
    left.semilogy(range(1, len(norms) + 1), norms, ".", ms=2, c=COLOURS[CELL])
    left.axhline(CLIP, c="k", lw=1, label=f"CLIP = {CLIP}: larger norms are scaled down to it")
    above = (norms > CLIP).float().mean().item()
    left.set(xlabel="training step", ylabel="gradient norm before clipping",
             title=f"{CELL}: above CLIP on {above:.0%} of steps")
    left.legend(loc="lower right", fontsize=10)
    for n, (start, end) in enumerate(zip(before, after)):
        right.plot(start, "--", c="0.6", label="at initialisation" if n == 0 else None)
        trained = "trained" + (" (one line a gate block)" if len(after) > 1 else "")
        right.plot(end, "-", c=COLOURS[CELL], label=trained if n == 0 else None)
    right.axhline(1, c="k", lw=0.8)
    right.set(xlabel="singular values, largest first", ylabel="size",
              title=f"{CELL}: singular values of W_hh, largest {max(s[0] for s in after):.2f}")
    right.legend()
    for ax in (left, right):
        ax.grid(alpha=0.3, which="both")
    fig.suptitle("405: the exploding side")
    save(fig, f"{NAME}_exploding.png")


def draw_keep(before, after):
    """How the keep factor (f, z or 1 - h²) is spread over every image, row and unit."""
    fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
    edges = torch.linspace(0, 1, 51)
    for label, factor, style in (("at initialisation", before, "--"), ("trained", after, "-")):
        share = torch.histc(factor, bins=50, min=0, max=1) / factor.numel()
        ax.stairs(share, edges, ls=style, lw=2, label=f"{label}: above 0.99 for "
                  f"{(factor > 0.99).float().mean():.1%}")
    ax.set(yscale="log", xlabel=f"{KEPT[CELL]}, each image, row and unit",
           ylabel="share of all values", title=f"405: {CELL}, the factor on the state's direct "
           f"path from row t-1 to row t")
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    save(fig, f"{NAME}_keep.png")


def singular_values(rnn):
    """W_hh's singular values, gate block by gate block: [(hidden,)], largest first."""
    blocks = rnn.weight_hh_l0.detach().split(rnn.hidden_size)
    return [torch.linalg.svdvals(block).cpu() for block in blocks]


def constant_comments():
    """{NAME: the comment beside it in the parameters cell}, for --help: read from this file, or
    in a notebook (no file) from the cells the kernel has run."""
    path = globals().get("__file__")
    text = open(path, encoding="utf-8").read() if path else "\n".join(globals().get("In", []))
    return dict(re.findall(r"^([A-Z][A-Z0-9_]*) = [^#\n]*#\s*(.+)$", text, re.MULTILINE))


def parse_flags(argv=None):
    """Every UPPER_CASE constant above is a flag (EPOCHS: --epochs) with its value as the
    default; the flags given set their constants. Numbers must be more than 0 (0 too where the
    default is 0), but SEED is any whole number. Then --device and --no-plot."""
    parser = argparse.ArgumentParser(prog=f"{NAME}.py", description="405 - why gates exist: "
                                     "the gradient reaching each row, for RNN, GRU and LSTM.")
    constants = {key: value for key, value in globals().items()
                 if key.isupper() and key not in ("NAME", "COLOURS", "KEPT")
                 and isinstance(value, (int, float, str))}
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
    if args.CELL not in CELLS:
        parser.error(f"--cell {args.CELL}: must be one of {', '.join(CELLS)}")
    for key, default in constants.items():
        value = getattr(args, key)
        if not (isinstance(value, (str, bool)) or key == "SEED" or 0 < value < math.inf
                or value == default == 0):
            parser.error(f"--{key.lower().replace('_', '-')}: must be more than 0, got {value}")
    if args.MEASURED > 10000:
        parser.error(f"--measured: the test set has 10000 images, got {args.MEASURED}")
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
        data = [t.to(args.device) for t in load_mnist(DATA_DIR or find_data_dir())]
        x, labels = to_input(data[2][:MEASURED]), data[3][:MEASURED]  # the measured test images
        at_start = {}
        for cell in CELLS:  # every cell as it starts; CELL's is the model trained below
            torch.manual_seed(SEED)
            at_start[cell] = {key: value.cpu() for key, value
                              in gradient_by_row(Classifier(HIDDEN_SIZE, cell).to(args.device),
                                                 x, labels).items()}
        print("at initialisation, row 1's share (median over images): " + "  ".join(
            f"{cell} h {g['h'][:, 0].median():.2g}" + (f" c {g['c'][:, 0].median():.2g}"
                                                         if "c" in g else "")
            for cell, g in at_start.items()))
        torch.manual_seed(SEED)
        model = Classifier(HIDDEN_SIZE, CELL).to(args.device)
        print(model)
        keep_before, sv_before = keep_factor(model, x).cpu(), singular_values(model.rnn)
        accuracy, norms = train(model, data, EPOCHS, BATCH_SIZE, LR, MAX_STEPS)
        trained = {key: value.cpu() for key, value in gradient_by_row(model, x, labels).items()}
        keep_after, sv_after = keep_factor(model, x).cpu(), singular_values(model.rnn)
        share = trained["h"][:, 0]  # (images,): row 1's share, image by image
        low, high = torch.quantile(share, torch.tensor([0.05, 0.95])).tolist()
        mid = share.median().item()  # the median image's, as in the figure
        print(f"trained {CELL}: row 1's share median {mid:.2g}" + (
            f" (c: {trained['c'][:, 0].median():.2g})" if "c" in trained else "")
            + f", middle 90 % of images {low:.2g} to {high:.2g}, largest {share.max():.2g}")
        print(f"trained {CELL}: W_hh's largest singular value {max(s[0] for s in sv_after):.2f}"
              f"; gradient norm above CLIP on {(norms > CLIP).float().mean():.0%} of steps, "
              f"largest {norms.max():.3g}")
        kept = [f"mean {k.mean():.2f}, units {k.mean(dim=(0, 1)).min():.2f} to "
                f"{k.mean(dim=(0, 1)).max():.2f}, above 0.99: {(k > 0.99).float().mean():.1%}"
                for k in (keep_before, keep_after)]  # units: mean over images and rows
        print(f"keep factor {KEPT[CELL]}: {kept[0]} -> trained: {kept[1]}")
        wall_s = time.perf_counter() - start
        if not args.no_plot:
            draw_gradients(at_start, trained)
            draw_exploding(norms, sv_before, sv_after)
            draw_keep(keep_before, keep_after)
            print(f"figures: {os.path.join(OUT, NAME)}.png, _exploding.png, _keep.png")
    except DataError as err:
        print(f"{NAME}.py: error: {err}", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt as stop:  # Ctrl-C: one line, and the shell's exit status for it
        print(" ".join(["interrupted", *stop.args]), file=sys.stderr)
        raise SystemExit(130) from None  # from None: a notebook shows no chained traceback
    print(f"final: test_accuracy={accuracy:.4f} row1_share={mid:.3g} wall_s={wall_s:.2f}")
    return accuracy, mid


# %% [markdown]
# ## Run it
#
# The next cell runs the lesson with the constants above. With flags, in a notebook:
# `%run ../405_why_gates.py --cell lstm` (from `notebooks/`; `../../` from `notebooks/zh/`).

# %%
if __name__ == "__main__":
    main()

# %% [markdown]
# ## Reading the results
#
# Ranges are over seeds 1, 2 and 3; the table at the end gives each seed's main figures.
#
# ### At initialisation: the gradient vanishes (`405_why_gates.png`, left)
#
# Row 1 gets 0.0046-0.0049 of h_28's gradient in the plain RNN, 0.0056-0.0084 in the GRU,
# 0.0073-0.016 at the LSTM's h and 0.011-0.024 at its c: less and less, row after row, in every
# cell. For the RNN the cause is plain: W_hh is orthogonal, so all the loss is the tanh's slope
# 1 - h_t², 0.80 on average (the `keep factor` line). At the LSTM's h the curve drops at once from
# h_28 to h_27: h_27 reaches h_28 only through W_hh and row 28's four gates, each behind a σ or a
# tanh (i, f and g then through c_28 and another tanh). Further back, the LSTM's curves fall the
# slowest.
#
# So the gated cells start only a little ahead (1.2 to 3.3 times the RNN's share at h, up to 4.9
# at the LSTM's c), and only thanks to the bias of 1 on f and z, not to gating itself. With the
# bias at 0, each row keeps σ(0) = 0.5, and row 1 gets 35 to 290 times less than in the plain
# RNN (Things to try). A gate passes the gradient back only as far as it is open; at the start,
# its bias decides how far.
#
# ### After training: the gates spread out (right; `_keep.png`)
#
# | `CELL` | test accuracy | h_1's share, median | middle 90 % of images | largest |
# |--------|---------------|---------------------|-----------------------|---------|
# | `rnn`  | 0.8953-0.9195 | 0.016-0.040 | 0.00071-0.0023 to 0.27-0.49 | 6.1-39 |
# | `gru`  | 0.9849-0.9857 | 0.28-0.30 | 0.097-0.11 to 0.84-0.88 | 2.9-3.8 |
# | `lstm` | 0.9810-0.9823 | 0.030-0.048 (c_1: 0.059-0.077) | 0.0061-0.0084 to 0.17-0.25 | 1.1-1.5 |
#
# Medians, because a few images rule the mean (the last column).
#
# Training spread the keeping gates out rather than opening them. The mean of the LSTM's f went
# from 0.72-0.73 to 0.70-0.71, the GRU's z from 0.71-0.73 to 0.67-0.68 (the `keep factor` line),
# and the least-open unit fell to 0.34-0.44; yet 7.6-8.9 % of the f or z values ended above 0.99,
# against under 0.05 % at initialisation. Some units learned to carry their state across many
# rows, others to forget it within a few. A gate at 0.99 passes the state and its gradient on
# almost whole, never more. The GRU, whose z mixes old and new in h itself, sends row 1 nearly a
# third of row 28's gradient.
#
# ### The plain RNN: vanishing and exploding at once (`405_why_gates_exploding.png`)
#
# The RNN has no such gate. Its slope 1 - h_t² fell to 0.20-0.22 on average (the `keep factor`
# line), and training made up for it the only way it could, by stretching W_hh: its largest
# singular value grew from 1 to 4.55-4.64 (right). Where a unit's tanh is not saturated, one row
# back can multiply the gradient by up to 4.6; where it is, by almost 0. So the median image's row
# 1 gets about as much as the LSTM's h_1; what differs is the spread. For some images the RNN's
# gradient vanishes (its middle 90 % starts 3 to 9 times lower than the LSTM's), for a few it
# explodes: row 1 gets up to 39 times h_28's gradient. The norms on the left say less: CLIP = 1.0
# is a choice, and the LSTM's norm was above it too, on 16-22 % of steps. The gated cells' W_hh
# grew as much (largest singular values 5.2-6.1), but there W_hh only feeds the gates and the
# candidate, each through a σ or a tanh; the state's direct path goes through f or z alone.

# %% [markdown]
# ## Things to try
#
# Each with what it gave (seeds 1, 2, 3):
#
# - `--cell gru`, `--cell lstm`: the tables.
# - The keeping gate's bias at 0: in `Classifier`, `fill_(1.0)` becomes `fill_(0.0)`. At
#   initialisation row 1 gets 0.000016-0.000045 at the LSTM's c, 0.000076-0.00014 at the GRU's h.
# - `--clip 1000`, in effect no clipping, with the plain RNN: 0.8437-0.8957, each seed 0.024 to
#   0.052 below its clipped run; the largest gradient norm was 6.8 to 28.8.

# %% [markdown]
# ## Measured on
#
# A 2-core AMD EPYC (`lscpu`), PyTorch 2.14.1 on the CPU, one thread (`OMP_NUM_THREADS=1`), the
# defaults but `CELL` and `SEED`. A run took 10.4-12.6 s of CPU time (user and system) for `rnn`,
# 16.7-18.7 s for `lstm`, 18.1-19.4 s for `gru`. Two threads: seed 1 gives 0.8773.
# Seeds 1, 2, 3:
#
# | `CELL` | test_accuracy | row 1's share at initialisation | trained: median | largest |
# |--------|---------------|---------------------------------|-----------------|---------|
# | `rnn` | 0.8953, 0.9195, 0.9055 | 0.0046, 0.0048, 0.0049 | 0.026, 0.040, 0.016 | 11, 39, 6.1 |
# | `gru` | 0.9849, 0.9849, 0.9857 | 0.0056, 0.0066, 0.0084 | 0.30, 0.28, 0.29 | 3.8, 2.9, 3.4 |
# | `lstm` | 0.9823, 0.9810, 0.9816 | 0.0073, 0.011, 0.016 | 0.048, 0.031, 0.030 | 1.5, 1.1, 1.2 |
# | `lstm`, at c | | 0.011, 0.016, 0.024 | 0.077, 0.059, 0.063 | |
# | `gru`, bias 0 | | 0.000076, 0.000087, 0.00014 | | |
# | `lstm`, at c, bias 0 | | 0.000016, 0.000024, 0.000045 | | |
# | `rnn`, `--clip 1000` | 0.8437, 0.8957, 0.8737 | as above | 0.011, 0.0098, 0.022 | 12, 8.6, 5.8 |
