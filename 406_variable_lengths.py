# %% [markdown]
# # 406 · Sequences of different lengths: padding and packing
#
# Real sequences differ in length, but a batch is one rectangular tensor. Here the sequences are
# MNIST digits read **left to right, one column per step, from the first column with ink to the
# last**: a 1 is about 9 steps long, a 0 about 18. **You will learn** to
#
# - pad a batch with `pad_sequence` in the `collate_fn` of a `DataLoader`, keeping the lengths;
# - pack it (`pack_padded_sequence`) so that the LSTM stops at each sequence's own end, read
#   `h_n`, and measure what reading the padding instead costs;
# - tell what each half of a bidirectional layer's output holds;
# - recognise the three errors met most often here, and fix them.
#
# **Read first:** 402 (an LSTM classifies MNIST from its last step) and 403 (the LSTM's (h, c)).
#
# Run it with `python 406_variable_lengths.py`, or run this notebook. It prints the model, the
# loss every 100 steps, a `readings:` line, the three errors caught, a `speed:` line, then
# `final: test_accuracy=0.97... reading_padding=0.8... wall_s=...` (about 20 s of one CPU core),
# and saves three figures in `results/`.

# %%
import math
import time

import torch
import torchvision
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

# %% [markdown]
# ## Hyperparameters
#
# Edit them here (in a notebook: in this cell, then run all cells below) or pass them as flags:
# each constant is the flag of the same name, `EPOCHS` is `--epochs`, `PACK = False` is
# `--no-pack` (`python 406_variable_lengths.py --no-pack`; `--help` lists them).

# %% tags=["parameters"]
EPOCHS = 1           # passes over the 60,000 training digits
BATCH_SIZE = 128     # digits per step
LR = 0.01            # Adam's learning rate at the start; it decays linearly to 0 over the run
HIDDEN_SIZE = 64     # size of the LSTM's h and c (of each direction's, when BIDIRECTIONAL)
CLIP = 1.0           # largest gradient norm allowed per step
MAX_STEPS = 0        # stop after this many training steps, for a quick look; 0: all EPOCHS
PACK = True          # False: feed the padded batch as it is, so the LSTM reads the padding
BIDIRECTIONAL = False  # True: read each digit both ways, classify from both final states
SEED = 1             # same seed, machine, build and thread count: the same numbers
DATA_DIR = ""        # folder holding MNIST/raw/*.gz; "": the first mnist/ found beside this file,
                     # in the working folder, or one or two folders up
OUT = "results"      # folder for the figures

# %% [markdown]
# ## The data: each digit as the columns it has ink in
#
# `InkColumns` turns each 28x28 digit into a (length, 28) sequence: its columns from the first
# with ink to the last, each column's 28 pixels one step, scaled to [0, 1] and not normalised to
# mean 0 as in 402, so that 0 is blank paper and the padding looks like paper. The length is the
# digit's width: from 2 to 20 steps in the training set, 15.7 on average.
#
# A `DataLoader` gathers BATCH_SIZE items and hands the list to its `collate_fn`, which makes the
# batch. The default one stacks the items, which fails when their lengths differ. Ours **pads**:
# `pad_sequence(..., batch_first=True)` fills each sequence out to the batch's longest with
# `padding_value` (0: blank columns), (batch, longest, 28). The padded tensor no longer says where
# each sequence ended, so `collate` also returns the lengths, as a tensor on the CPU.

# %%
class InkColumns(torch.utils.data.Dataset):
    """MNIST digits as sequences of the columns they have ink in, and their labels."""

    def __init__(self, images, labels):
        ink = images.amax(dim=1) > 0  # (n, 28): which columns hold any ink
        self.start = ink.int().argmax(dim=1).tolist()  # first inked column of each digit
        self.end = (28 - ink.flip(1).int().argmax(dim=1)).tolist()  # one past the last one
        self.images, self.labels = images, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        columns = self.images[i, :, self.start[i]:self.end[i]].T  # (length, 28 pixels)
        return columns.float() / 255, self.labels[i]


def collate(batch):
    """[(sequence (length_i, 28), label)] -> padded (batch, longest, 28), lengths (batch,) on
    the CPU, labels (batch,)."""
    sequences, labels = zip(*batch)
    lengths = torch.tensor([len(s) for s in sequences])
    return pad_sequence(sequences, batch_first=True, padding_value=0.0), lengths, \
        torch.stack(labels)


# %% [markdown]
# ## Packing: each sequence read to its own end
#
# Fed the padded batch as it is, the LSTM runs every sequence on through the padding. Its final
# state `h_n[-1]` is then the state after the padding, and so is `r_out[:, -1]`: for a padded
# batch fed unpacked the two are still equal, as in 402, and both have read the padding.
#
# `pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)` makes a
# `PackedSequence`: the real steps only, sequences sorted from longest to shortest, laid out step
# by step in `data` (step 1 of every sequence, then step 2 of those that have one, ...), and
# `batch_sizes[t]`, how many sequences are still running at step t. The LSTM takes it in place of
# a tensor, computes at each step only the sequences still running, and returns in `h_n` each
# sequence's state **after its own last step**, in the batch's order. The classifier reads that.
#
# `r_out` comes back packed too. When the output at every step is wanted (a tag per word, say),
# `pad_packed_sequence(r_out, batch_first=True)` pads it again, with zeros after each sequence's
# end, to the batch's longest sequence, or to `total_length` steps if given (to match a target of
# fixed length). Its `[:, -1]` is then zeros for every sequence shorter than the longest: with a
# packed batch, `r_out[:, -1]` is no longer `h_n[-1]`, and reading it is a bug.
#
# With `bidirectional=True` a second LSTM reads each sequence from its last step back to its
# first, and its h is put beside the forward one's: `r_out[..., :hidden]` is the forward
# direction's, `r_out[..., hidden:]` the backward one's, and `h_n[-2]`, `h_n[-1]` are their final
# states. Packed, the forward direction ends at each sequence's own last step, the backward one at
# step 0. So `h_n[-2]` is the forward half at step length - 1, `h_n[-1]` the backward half at step
# 0, and `r_out[:, -1]` holds neither.

# %%
class Classifier(nn.Module):
    def __init__(self, hidden_size=HIDDEN_SIZE, bidirectional=BIDIRECTIONAL):
        super().__init__()
        self.rnn = nn.LSTM(input_size=28, hidden_size=hidden_size, batch_first=True,
                           bidirectional=bidirectional)  # x: (batch, time, 28 pixels)
        self.out = nn.Linear(hidden_size * (2 if bidirectional else 1), 10)
        with torch.no_grad():  # f's bias, b_ih + b_hh = 1 + 0, as in 402 (stacked i, f, g, o)
            for name, bias in self.rnn.named_parameters():  # each direction's b_ih and b_hh
                if name.startswith("bias_"):
                    bias[hidden_size:2 * hidden_size].fill_(1.0 if "_ih" in name else 0.0)

    def forward(self, x, lengths=None):
        # x: (batch, longest, 28), padded; lengths: (batch,) on the CPU, or None: read it all.
        if lengths is not None:
            x = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, (h_n, _) = self.rnn(x)  # h_n: (directions, batch, hidden), in the batch's order
        if self.rnn.bidirectional:  # forward's state after the last step, backward's at step 0
            return self.out(torch.cat([h_n[-2], h_n[-1]], dim=1))  # (batch, 10)
        return self.out(h_n[-1])  # (batch, hidden) -> (batch, 10): a score per digit


def per_step_outputs(rnn, x, lengths, total_length=None):
    """r_out of a packed batch, padded back: (batch, longest or total_length, hidden x
    directions), zeros after each sequence's end; and h_n (directions, batch, hidden)."""
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    r_out, (h_n, _) = rnn(packed)
    r_out, _ = pad_packed_sequence(r_out, batch_first=True, total_length=total_length)
    return r_out, h_n


# %% [markdown]
# ## Training, and three ways to read the result
#
# Training is 402's (the forget gate's bias starting at b_ih + b_hh = 1 + 0, cross-entropy, Adam
# with a learning rate falling linearly to 0, gradients clipped at CLIP, a zero state for every
# batch), on batches from the `DataLoader`. The lengths go to the model with the padded batch,
# unless `PACK = False`. The batch moves to the device; the lengths stay on the CPU, where
# `pack_padded_sequence` needs them.
#
# `evaluate` reads all 10,000 test digits three ways with the same weights: `h_n` of the packed
# batch; `h_n` of the padded batch fed unpacked, equal to its `r_out[:, -1]`; and `r_out[:, -1]`
# of the packed run, padded back.

# %%
def batches(dataset, batch_size, shuffle=False):
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle,
                                       collate_fn=collate)


def train(model, train_set, device, epochs=EPOCHS, batch_size=BATCH_SIZE, lr=LR,
          max_steps=MAX_STEPS, log=print):
    """Adam with a learning rate that decays linearly to 0. Returns the loss at every step."""
    loader = batches(train_set, batch_size, shuffle=True)
    total = epochs * len(loader) if not max_steps else min(epochs * len(loader), max_steps)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.LinearLR(optimizer, 1.0, 0.0, total_iters=total)
    start, losses = time.perf_counter(), []
    log(f"training: {total} steps of {batch_size} digits on {device}")
    try:
        for epoch in range(epochs):
            for x, lengths, y in loader:  # (batch, longest, 28), (batch,), (batch,)
                scores = model(x.to(device), lengths if PACK else None)  # lengths: CPU
                loss = nn.functional.cross_entropy(scores, y.to(device))
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), CLIP)
                optimizer.step()
                scheduler.step()
                losses.append(loss.item())
                if len(losses) % 100 == 0 or len(losses) == total:
                    log(f"epoch {epoch + 1}/{epochs}  step {len(losses)}/{total}  loss "
                        f"{loss.item():.4f}  elapsed {time.perf_counter() - start:.1f}s")
                if len(losses) == total:
                    return losses
    except KeyboardInterrupt:  # Ctrl-C: main() says where, in one line
        raise KeyboardInterrupt(f"at step {min(len(losses) + 1, total)} of {total}") from None
    return losses


@torch.no_grad()
def evaluate(model, test_set, device, batch_size=500):
    """Test accuracy read three ways: {"h_n": packed, each sequence's own last state,
    "unpacked": the padded batch fed whole, "r_out[:, -1]": the packed run's last padded step}."""
    model.eval()
    right = {"h_n": 0, "unpacked": 0, "r_out[:, -1]": 0}
    for x, lengths, y in batches(test_set, batch_size):
        x, y = x.to(device), y.to(device)
        right["h_n"] += (model(x, lengths).argmax(dim=1) == y).sum().item()
        right["unpacked"] += (model(x).argmax(dim=1) == y).sum().item()
        r_out, _ = per_step_outputs(model.rnn, x, lengths)  # (batch, longest, hidden x dirs)
        right["r_out[:, -1]"] += (model.out(r_out[:, -1]).argmax(dim=1) == y).sum().item()
    model.train()
    return {key: count / len(test_set) for key, count in right.items()}


# %% [markdown]
# ## The errors met most often
#
# `common_errors` raises each of them for real, prints its first line, then runs the fix.
#
# 1. **A state built once for a fixed batch size**, `torch.zeros(1, BATCH_SIZE, HIDDEN_SIZE)`.
#    The last batch of an epoch is smaller (60,000 = 468 x 128 + 96): `Expected hidden[0] size
#    (1, 96, 64), got [1, 128, 64]`. Fix: pass no state (the LSTM makes zeros of the right size),
#    or size it from `x.size(0)`. A packed batch raises nothing: the LSTM first reorders the state
#    in the batch's sorting order, which picks 96 of its 128 rows in silence.
# 2. **Unsorted lengths with `enforce_sorted=True`**, the default: `` `lengths` array must be
#    sorted in decreasing order when `enforce_sorted` is True ``. Fix: `enforce_sorted=False`;
#    PyTorch then sorts, and puts `h_n` and the output back in the batch's order (sorting by hand
#    is only needed for ONNX export).
# 3. **Lengths on the GPU.** They must be "on the CPU if provided as a tensor"
#    (`pack_padded_sequence`'s documentation); ATen's `PackedSequence.cpp` checks it and raises
#    `'lengths' argument should be a 1D CPU int64 tensor, but got 1D cuda:0 Long tensor`. It comes
#    from sending the whole batch to the GPU, lengths included. Fix: leave them on the CPU, as
#    `train` does, or pass `lengths.cpu()`. Without a GPU, `common_errors` shows the same check
#    with the lengths on the `meta` device (shapes without data); with `--device cuda`, on the GPU.

# %%
def first_line_of_error(action):
    """Run action(); return 'ErrorType: first line of its message', or None if nothing is raised."""
    try:
        action()
    except Exception as err:  # the point is to show it; every case here is one of the three
        return f"{type(err).__name__}: {str(err).splitlines()[0]}"
    return None


def common_errors(model, train_set, device, batch_size=BATCH_SIZE):
    """The three errors, each raised and caught, and the fix run: [(what, error, fixed)]."""
    last = len(train_set) % batch_size or batch_size  # digits in the last batch of an epoch
    x, lengths, _ = collate([train_set[i] for i in range(last)])
    x = x.to(device)
    hidden = model.rnn.hidden_size
    fixed_size = torch.zeros(1, batch_size, hidden, device=device)  # built once, for BATCH_SIZE
    sized = torch.zeros(1, x.size(0), hidden, device=device)  # sized from the batch
    by_length = lengths.argsort(descending=True)
    elsewhere = device if device.type != "cpu" else torch.device("meta")
    with torch.no_grad():
        return [
            (f"state built for {batch_size}, last batch of {last}",
             first_line_of_error(lambda: model.rnn(x, (fixed_size, fixed_size))),
             first_line_of_error(lambda: model.rnn(x, (sized, sized)))),
            ("lengths unsorted, enforce_sorted=True",
             first_line_of_error(lambda: pack_padded_sequence(x, lengths, batch_first=True)),
             first_line_of_error(lambda: pack_padded_sequence(x, lengths, batch_first=True,
                                                              enforce_sorted=False))),
            (f"lengths on {elsewhere.type}",
             first_line_of_error(lambda: pack_padded_sequence(
                 x[by_length], lengths[by_length].to(elsewhere), batch_first=True)),
             first_line_of_error(lambda: pack_padded_sequence(
                 x[by_length], lengths[by_length].cpu(), batch_first=True))),
        ]


# %% [markdown]
# ## Is packing faster?
#
# A packed batch computes only the real steps, here about 15.9 of every 20, yet on a CPU it is
# slower: the padded batch fed unpacked runs oneDNN's fused LSTM kernel, the whole sequence in
# one call, while a packed batch of unequal lengths runs a loop, step by step. Packing buys
# correctness, not speed. `timings` measures the CPU time of forward and backward over 20
# batches: packed; unpacked; unpacked with oneDNN switched off; and unpacked with every sequence
# padded to all 28 columns.

# %%
def timings(model, train_set, batch_size=BATCH_SIZE, count=20):
    """CPU seconds for forward and backward over `count` training batches, {way: seconds}, four
    ways. Measured on the CPU; process time counts every thread."""
    model = model.cpu()
    loader = iter(batches(train_set, batch_size))
    data = [next(loader) for _ in range(count)]
    seconds = {}
    for name in ("packed", "unpacked", "unpacked without oneDNN", "unpacked, padded to 28"):
        torch.backends.mkldnn.enabled = name != "unpacked without oneDNN"
        try:
            for i, (x, lengths, y) in enumerate(data[:2] + data):  # the first 2: warm-up
                if i == 2:
                    start = time.process_time()
                if name.endswith("28"):  # every sequence padded to the image's full width
                    x = nn.functional.pad(x, (0, 0, 0, 28 - x.size(1)))
                scores = model(x, lengths if name == "packed" else None)
                nn.functional.cross_entropy(scores, y).backward()
            seconds[name] = time.process_time() - start
        finally:
            torch.backends.mkldnn.enabled = True
    model.zero_grad()
    return seconds


# %% [markdown]
# ## Pictures and the command line
#
# The folded cell below is the plumbing, alike in every lesson: MNIST's files, the figures, the
# flags (each sets the constant of the same name) and `main()`.

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

plt.rcParams["font.size"] = 12  # 11-inch figures shrink to about 88 % in a notebook: 10 pt
NAME = "406_variable_lengths"  # names the command and the figures; no __file__ needed


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


def load_mnist(root):
    """All of MNIST as four tensors: train_x (60000, 28, 28) uint8, train_y (60000,) int64,
    test_x (10000, 28, 28) uint8, test_y (10000,) int64."""
    prepare_mnist(root)  # the files are in place and whole, so torchvision only reads them
    train_set = torchvision.datasets.MNIST(root, train=True, download=False)
    test_set = torchvision.datasets.MNIST(root, train=False, download=False)
    return train_set.data, train_set.targets, test_set.data, test_set.targets


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
        fig.savefig(part, dpi=100, bbox_inches="tight")
    plt.show()  # nothing without a screen (Agg)
    plt.close(fig)


def draw_batch(x, lengths):
    """A padded batch as images (padding shaded), beside its packed form: the row of `data`
    that holds each real step, and batch_sizes."""
    cells = torch.arange(x.size(0) * x.size(1)).view(x.size(0), x.size(1))  # (batch, longest)
    packed = pack_padded_sequence(cells, lengths, batch_first=True, enforce_sorted=False)
    where = torch.full((cells.numel(),), -1)  # the row of data holding each step; -1: padding
    where[packed.data] = torch.arange(len(packed.data))
    where = where.view_as(cells)
    fig = plt.figure(figsize=(10.5, 4.8), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=[2, 3])
    for n, ax in enumerate(left.subplots(2, len(lengths) // 2).flat):
        ax.imshow(x[n].T, cmap="gray_r", vmin=0, vmax=1)  # (28 pixels, longest steps)
        ax.axvspan(lengths[n] - 0.5, x.size(1) - 0.5, color="tab:red", alpha=0.3, lw=0)
        ax.set(xticks=[0, x.size(1) - 1], yticks=[])
        ax.set_title(f"{n}: {int(lengths[n])} steps", fontsize=9)
    left.suptitle(f"padded: ({len(lengths)}, {x.size(1)}, 28), one column a step,\n"
                  "padding (blank columns) shaded red")
    right = right.subplots()
    grid = (where >= 0).float().numpy()
    right.imshow(grid, cmap="Blues", vmin=0, vmax=2.5, aspect="auto")
    for n in range(len(lengths)):
        for t in range(x.size(1)):
            if where[n, t] >= 0:
                right.text(t, n, int(where[n, t]), ha="center", va="center", fontsize=6)
    right.set(xticks=range(x.size(1)), yticks=range(len(lengths)), xlabel="step",
              ylabel="sequence in the batch",
              title="packed: the row of data holding each real step\n"
                    f"batch_sizes = {packed.batch_sizes.tolist()}")
    fig.suptitle("406: a padded batch and its packed form")
    save(fig, f"{NAME}.png")


def draw_results(losses, readings):
    """The training loss, beside the test accuracy of the three readings."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.8), layout="constrained",
                                      width_ratios=[2, 3])
    left.plot(range(1, len(losses) + 1), losses, lw=0.8)
    left.set(xlabel="training step", ylabel="cross-entropy", yscale="log",
             title="training loss, each batch" + (" (packed)" if PACK else " (unpacked)"))
    left.grid(alpha=0.3)
    labels = {"h_n": "packed, h_n[-1]:\neach digit's own\nlast step",
              "unpacked": "padded, unpacked,\nh_n[-1] = r_out[:, -1]:\nafter the padding",
              "r_out[:, -1]": "packed, r_out padded\nback, r_out[:, -1]:\nzeros for most"}
    bars = right.bar(range(3), [readings[k] for k in labels], color=["tab:green", "tab:orange",
                                                                     "tab:red"])
    right.bar_label(bars, fmt="%.4f")
    right.set_xticks(range(3), list(labels.values()), fontsize=10)
    right.set(ylim=(0, 1.08),
              ylabel="accuracy, all 10,000 test digits", title="the same weights, read three ways")
    fig.suptitle("406: what reading the padding costs")
    save(fig, f"{NAME}_readings.png")


def draw_bidirectional(r_out, h_n, lengths):
    """How far each half of a bidirectional r_out is from h_n[-2] and h_n[-1], step by step."""
    hidden = h_n.size(2)
    fig, axes = plt.subplots(1, len(lengths), figsize=(11, 4), sharey=True,
                             layout="constrained")
    for n, ax in enumerate(axes):
        steps = range(r_out.size(1))
        forward = (r_out[n, :, :hidden] - h_n[-2, n]).norm(dim=1)
        backward = (r_out[n, :, hidden:] - h_n[-1, n]).norm(dim=1)
        ax.plot(steps, forward, "o-", ms=3, label="|r_out[t, :hidden] - h_n[-2]| (forward)")
        ax.plot(steps, backward, "s-", ms=3, label="|r_out[t, hidden:] - h_n[-1]| (backward)")
        ax.axvline(lengths[n] - 1, color="0.5", ls=":")
        ax.axvspan(lengths[n] - 0.5, r_out.size(1) - 0.5, color="tab:red", alpha=0.15)
        ax.set(xlabel="step t")
        ax.set_title(f"length {int(lengths[n])}: last step {lengths[n] - 1}", fontsize=11)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("distance: Euclidean norm of the difference")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=2,
               fontsize=10)
    fig.suptitle("406: a bidirectional LSTM, packed: h_n[-2] is the forward half at each "
                 "sequence's own last step,\nh_n[-1] the backward half at step 0 (padding shaded)",
                 fontsize=12)
    save(fig, f"{NAME}_bidirectional.png")


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
    parser = argparse.ArgumentParser(prog=f"{NAME}.py", description="406 - sequences of "
                                     "different lengths: padding and packing.")
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
    if not args.no_plot:
        try:
            os.makedirs(args.OUT, exist_ok=True)
            if not os.access(args.OUT, os.W_OK):
                raise PermissionError("permission denied")
        except OSError as err:
            parser.error(f"--out {args.OUT}: cannot write figures there ({err.strerror or err})")
    globals().update({key: getattr(args, key) for key in constants})
    return args


def final_line(readings, wall_s):
    """test_accuracy: the test digits read as training read them (packed, or with --no-pack the
    padding); then the other reading, named for what it reads."""
    read, other, named = ("h_n", "unpacked", "reading_padding") if PACK else \
        ("unpacked", "h_n", "reading_packed")
    return (f"final: test_accuracy={readings[read]:.4f} {named}={readings[other]:.4f} "
            f"wall_s={wall_s:.2f}")


def main(argv=None):
    args = parse_flags(argv)
    device = torch.device(args.device)
    try:
        start = time.perf_counter()
        torch.manual_seed(SEED)
        train_x, train_y, test_x, test_y = load_mnist(DATA_DIR or find_data_dir())
        train_set, test_set = InkColumns(train_x, train_y), InkColumns(test_x, test_y)
        model = Classifier(HIDDEN_SIZE, BIDIRECTIONAL).to(device)
        print(model)
        losses = train(model, train_set, device, EPOCHS, BATCH_SIZE, LR, MAX_STEPS)
        readings = evaluate(model, test_set, device)
        print("readings: " + "  ".join(f"{key} {value:.4f}" for key, value in readings.items()))
        wall_s = time.perf_counter() - start
        for what, error, fixed in common_errors(model, train_set, device):
            print(f"error: {what}: {error}\n  fixed: {fixed or 'runs'}")
        seconds = timings(model, train_set)  # after wall_s: it is a measurement of its own
        model.to(device)
        threads = torch.get_num_threads()
        print(f"speed: forward+backward, 20 batches, CPU s ({threads} thread"
              f"{'' if threads == 1 else 's'}): "
              + "  ".join(f"{key} {value:.2f}" for key, value in seconds.items()))
        if not args.no_plot:
            x, lengths, _ = collate([test_set[i] for i in range(8)])
            draw_batch(x, lengths)
            draw_results(losses, readings)
            torch.manual_seed(SEED)
            both_ways = nn.LSTM(28, 8, batch_first=True, bidirectional=True)
            with torch.no_grad():
                draw_bidirectional(*per_step_outputs(both_ways, x[:4], lengths[:4]), lengths[:4])
            print(f"figures: {os.path.join(OUT, NAME)}.png, _readings.png, _bidirectional.png")
    except DataError as err:
        print(f"{NAME}.py: error: {err}", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt as stop:  # Ctrl-C: one line, and the shell's exit status for it
        print(" ".join(["interrupted", *stop.args]), file=sys.stderr)
        raise SystemExit(130) from None  # from None: a notebook shows no chained traceback
    print(final_line(readings, wall_s))
    return readings


# %% [markdown]
# ## Run it
#
# From a terminal: `python 406_variable_lengths.py` (flags as above). In a notebook, the next cell
# runs the lesson with the constants of the parameters cell;
# `%run 406_variable_lengths.py --no-pack` runs the file with flags instead. The path is from the
# notebook's folder: `%run ../406_variable_lengths.py` from `notebooks/`,
# `%run ../../406_variable_lengths.py` from `notebooks/zh/`.

# %%
if __name__ == "__main__":
    main()

# %% [markdown]
# ## Reading the results
#
# Over seeds 1 to 3 the default run gave `test_accuracy` 0.9681 to 0.9732 after its one epoch.
#
# **A padded batch and its packed form** (`406_variable_lengths.png`): the first 8 test digits as
# one padded batch, (8, 20, 28); beside it, the row of the packed `data` holding each real step:
# 121 rows instead of 160, and `batch_sizes` falls from 8 to 1 as the sequences end.
#
# **What reading the padding costs** (`406_variable_lengths_readings.png`), the same trained
# weights read three ways: each digit's own last state (packed), 0.9681 to 0.9732; the padded
# batch fed unpacked, `reading_padding`, 0.8885 to 0.9059, as the LSTM runs on through blank
# columns, which training never put after a digit; `r_out[:, -1]` of the packed output, 0.26 to
# 0.27: zeros for every digit narrower than the widest of its batch, which all get the answer the
# Linear layer's bias favours. Only for the 2,266 test digits 20 columns wide is that step real.
#
# **Both directions** (`406_variable_lengths_bidirectional.png`): for four test digits fed packed
# to an untrained bidirectional LSTM, how far each half of `r_out` is from `h_n` at every step.
# The forward half reaches `h_n[-2]` at each digit's own last step, the backward half `h_n[-1]` at
# step 0. In the padding `r_out` is zeros, so the lines lie flat there at |0 - h_n|, the size of
# `h_n` itself (the distance is the Euclidean norm of the difference).
#
# **Speed**, the `speed:` line (CPU seconds for 20 batches of 128, forward and backward, one
# thread, seeds 1 to 3): packed 0.23 to 0.28, unpacked 0.14 to 0.16, 1.5 to 1.8 times faster.
# Unpacked with oneDNN off, 0.20 to 0.25: close to the packed time, so the kernel makes the
# difference. Even padded to 28 columns, 43 % of it padding, unpacked took 0.19 to 0.21.

# %% [markdown]
# ## Things to try
#
# Each with what it gave (seed 1, on the machine below):
#
# - `PACK = False` (`--no-pack`): trained on the padded batches, the LSTM learns to read through
#   the blank columns: 0.9735 (0.9680 to 0.9735 over seeds 1 to 3), while the same weights read
#   packed give 0.8730 (`reading_packed`). It works because training always padded to 20
#   columns; each answer depends on that padding.
# - `BIDIRECTIONAL = True`: 0.9750, its `speed:` line about twice the default's.
# - `EPOCHS = 2`: 0.9820, and `reading_padding` 0.9034.
# - In `timings`, pack `(lengths + 1) // 2` instead of `lengths`, half of each digit: 8.0 real
#   steps of the 20 padded on average, 60 % padding. Packed then took 0.17 to 0.18 s and unpacked
#   0.16 to 0.19 s (three runs): even then, packing was no faster here.

# %% [markdown]
# ## Measured on
#
# A 2-core AMD EPYC (KVM, AVX-512), PyTorch 2.14.1 (CPU), one thread (`OMP_NUM_THREADS=1`):
#
# | seed | test_accuracy | reading_padding | r_out[:, -1] | `speed:` (s) | `--no-pack` |
# |------|---------------|-----------------|--------------|--------------------------|-------------|
# | 1    | 0.9730        | 0.8885          | 0.2634       | 0.28, 0.16, 0.25, 0.21   | 0.9735      |
# | 2    | 0.9732        | 0.9009          | 0.2730       | 0.23, 0.15, 0.20, 0.19   | 0.9680      |
# | 3    | 0.9681        | 0.9059          | 0.2636       | 0.25, 0.14, 0.21, 0.19   | 0.9693      |
#
# `speed:`: packed, unpacked, without oneDNN, padded to 28.
#
# A whole default run took 14 to 15 s of CPU time, 12 s with `--no-pack`; `wall_s` was 15 to
# 18 s.
