# %% [markdown]
# # 402 · An LSTM reads a handwritten digit, one row at a time
#
# A recurrent network reads sequences, and an image can be read as one: a 28x28 MNIST digit is 28
# rows of 28 pixels, so the LSTM takes one row per time step, top to bottom, and after the 28th row
# a Linear layer says which digit it was. Nothing here is built for images (no convolution):
# everything the classifier knows about the digit has to pass through the LSTM's state, row after
# row. An LSTM is a recurrent layer whose state is two tensors, h (its output) and c (its cell
# state, its memory), with gates that decide at every step what c keeps, adds and shows; lesson 403
# looks at the pair closely. The lesson then measures what the gates are for: how much of the
# training signal reaches the first rows, for the LSTM and for the plain RNN and the GRU (`CELL`),
# and how to batch sequences of different lengths (`PACKED`).
#
# Unlike 401, 403 and 404, the sequences here are independent: each image starts from a **fresh
# zero state**, and nothing is carried from one image, or one batch, to the next.
#
# Run it with `python 402_rnn_classifier.py`, or run this notebook. It prints one line per epoch,
# a `gradients:` line, then `final: test_accuracy=0.98... rows_to_90=25 wall_s=...` (the accuracy
# over all 10,000 test images; about 10 to 25 s on a 2-core CPU, imports included), and saves its
# figures in `results/`.

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
# each constant is the flag of the same name, `EPOCHS` is `--epochs`, `HIDDEN_SIZE` is
# `--hidden-size` (`python 402_rnn_classifier.py --epochs 1`; `--help` lists them).

# %% tags=["parameters"]
EPOCHS = 2           # passes over the 60,000 training images
BATCH_SIZE = 128     # images per step
LR = 0.01            # Adam's learning rate at the start; it decays linearly to 0 over the run
HIDDEN_SIZE = 64     # size of the state h (and of the LSTM's c)
CLIP = 1.0           # largest gradient norm allowed per step (keeps early LSTM steps sane)
MAX_STEPS = 0        # stop after this many training steps, for a quick look; 0: all EPOCHS
CELL = "lstm"        # the recurrent layer: "lstm", "gru", or "rnn" (the plain tanh recurrence)
PACKED = False       # True: read each digit from its first row with ink (lengths differ, packed)
SEED = 1             # same seed, machine, build and thread count: the same numbers
DATA_DIR = ""        # folder holding MNIST/raw/*.gz; "": the first mnist/ found beside this file,
                     # in the working folder, or one or two folders up
OUT = "results"      # folder for the figures

# %% [markdown]
# ## The data: 70,000 digits as four tensors
#
# `torchvision.datasets.MNIST` reads the four original archives, which ship in `mnist/` (so no
# network is needed; with one, torchvision can download them). Its `.data` is every image as one
# uint8 tensor, (60000, 28, 28) for training and (10000, 28, 28) for testing, and `.targets` the
# labels. (`.data` here is the dataset's attribute that replaced the old `train_data`; it is not
# the deprecated `Tensor.data`.)
#
# The classic recipe wraps the set in a `DataLoader` with `ToTensor`, which turns every image into a
# tensor again at every epoch, one image at a time in Python. On a CPU that is not free: for 100
# batches of 64 on a 2-core Intel Xeon, loading took 0.22 s and the LSTM's forward, backward and
# Adam step on them 0.40 s (one thread; `python benchmarks/steps_402.py --threads 1`): turning
# images into tensors would add more than half again to the time the LSTM takes. MNIST is small, so
# this lesson keeps the whole set as one tensor and slices whole batches out of it. A batch, (batch,
# 28, 28), is already what the LSTM wants with `batch_first=True`: (batch, time = 28 rows, features
# = 28 pixels).

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
    """(batch, 28, 28) uint8 pixels -> (batch, 28, 28) float32 with mean 0 and std 1.

    One vectorised operation per batch (about 0.05 ms for 128 images). Converting the whole set
    to float up front would be no faster and would hold four times the bytes (for the training
    set, 188 MB, not 47 MB).
    """
    mean, std = 0.1307, 0.3081  # of MNIST's training pixels, scaled to [0, 1]
    return images.float().div_(255.0).sub_(mean).div_(std)


# %% [markdown]
# ## The model: an LSTM and a Linear layer on its last output
#
# At row t the LSTM reads x_t (the row's 28 pixels) and h_{t-1}, and computes four gate blocks,
# stacked in PyTorch's weights and biases in the order i, f, g, o:
#
# - i (input), f (forget) and o (output): each σ(x_t Wᵀ + b + h_{t-1} Uᵀ + b'), with its own W, U,
#   b and b'; the sigmoid σ puts them between 0 and 1, one number per unit of the state;
# - g (the candidate), third in the stack: the same with tanh, between -1 and 1.
#
# Then c_t = f ⊙ c_{t-1} + i ⊙ g (c keeps the share f of what it held and adds what i lets in),
# and h_t = o ⊙ tanh(c_t), what the layer shows, its output after row t.
#
# (⊙: unit by unit. Lesson 403 writes them out in full and computes them by hand from the layer's
# own weights.) `self.rnn(x)` returns `r_out`, h after every row, (batch, 28, hidden), and the
# final pair `(h_n, c_n)`, each (num_layers, batch, hidden). The Linear layer reads `r_out[:, -1]`,
# the output after the last row, which has seen the whole image. For a one-direction layer on
# unpadded input this is exactly `h_n[-1]`, however many layers are stacked (`r_out` is the top
# layer's output; a test pins it). It is not so for a bidirectional layer, whose `r_out[:, -1]`
# holds its backward half after one row only, nor for a padded batch (see PACKED below).
#
# **The state starts from zeros for every batch**: `forward` passes no state, and `nn.LSTM` then
# uses h0 = c0 = 0. Images are independent, so the state should hold this digit's rows, not the
# previous digit's — the opposite of 401, 403 and 404, where one long wave is cut into windows and
# the next window continues the last.
#
# Two choices of initial weights make the first epoch count. A forget gate that starts mostly open:
# with its bias at 1 and small weights, f ≈ σ(1) ≈ 0.73, so each row keeps about 73 % of c (a bias
# of 0 would give σ(0) = 0.5, half; over the test images at initialisation, f averaged 0.713 with
# seed 1 on a 2-core Intel Xeon). More of what the early rows wrote into c then reaches the last
# row, and more of their gradient comes back. Orthogonal recurrent weights neither grow nor shrink a
# signal as they multiply it, row after row (the gates and tanh still can).
#
# ### The plain RNN and the GRU: `CELL`
#
# `CELL = "rnn"` (`--cell rnn`) or `"gru"` puts PyTorch's other two recurrent layers in the LSTM's
# place, with the same size, the same Linear layer and the same training:
#
# - `nn.RNN`, the plain recurrence of lesson 401: h_t = tanh(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ +
#   b_hh). One state, no gates: every row rewrites all of h through W_hh and a tanh.
# - `nn.GRU`: gates r and z (σ, like the LSTM's), a candidate n = tanh(x_t W_inᵀ + b_in + r ⊙
#   (h_{t-1} W_hnᵀ + b_hn)), then h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}. Its z is the share of the old
#   state kept, the part the LSTM's f plays, so it gets the same bias of 1.
#
# All three get orthogonal recurrent weights, one block per gate.

# %%
CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}  # CELL's choices


class Classifier(nn.Module):
    def __init__(self, hidden_size=HIDDEN_SIZE, cell=CELL):
        super().__init__()
        self.rnn = CELLS[cell](input_size=28, hidden_size=hidden_size, num_layers=1,  # 28 pixels
                               batch_first=True)  # batch_first: x is (batch, time, feature)
        self.out = nn.Linear(hidden_size, 10)
        # PyTorch stacks the weights and biases by gate, hidden_size rows each: LSTM (i, f, g, o),
        # GRU (r, z, n), RNN one block. Orthogonal recurrent weights for each gate; then the
        # gate that keeps the old state, the LSTM's f or the GRU's z, starts mostly open (bias 1).
        with torch.no_grad():
            for gate in range(self.rnn.weight_hh_l0.shape[0] // hidden_size):
                rows = slice(gate * hidden_size, (gate + 1) * hidden_size)
                nn.init.orthogonal_(self.rnn.weight_hh_l0[rows])
            if cell != "rnn":
                self.rnn.bias_ih_l0[hidden_size:2 * hidden_size].fill_(1.0)
                self.rnn.bias_hh_l0[hidden_size:2 * hidden_size].fill_(0.0)

    def forward(self, x, lengths=None):
        # x: (batch, time=28 rows, input=28 pixels); lengths: (batch,) rows of each sequence,
        # given when x is a padded batch (PACKED), else None: all 28 rows.
        # No state is passed: every batch starts from zeros (h0 = 0, and c0 = 0 for the LSTM).
        if lengths is None:
            r_out, _ = self.rnn(x)  # r_out: (batch, time, hidden), h after every row
            # The output after the last row has seen the whole image. Here (one direction, no
            # padding) r_out[:, -1] is exactly h_n[-1]: the top layer's last h, for any depth.
            return self.out(r_out[:, -1, :])  # (batch, hidden) -> (batch, 10): a score per digit
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True,
                                                   enforce_sorted=False)
        _, state = self.rnn(packed)  # stops at each sequence's own last row
        h_n = state[0] if isinstance(state, tuple) else state  # the LSTM's is (h_n, c_n)
        return self.out(h_n[-1])  # each sequence's own last h, back in the batch's order


# %% [markdown]
# ## Digits of different lengths: PACKED
#
# A batch must be one rectangular tensor, but real sequences (sentences, recordings) differ in
# length. With `PACKED = True` (`--packed`) each digit is read from its first row with ink, so
# here too the sequences differ: 28 rows minus the blank rows above the digit. `from_first_ink`
# moves each image up and leaves blank rows below it as **padding**, which fills the batch out to
# 28 rows; `lengths` says how many rows of each are real.
#
# `nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)` then
# gives the layer the real rows only: at each step it computes just the sequences still running,
# so each sequence's final state `h_n[-1]` is its state after its own last row, and no padding is
# ever read (`forward` above). The padded output `r_out` is another matter: unpacked with
# `pad_packed_sequence(..., total_length=28)`, it holds zeros after each sequence's end, so
# `r_out[:, -1]` is padding for every sequence shorter than 28 rows. (Without `total_length` it
# pads only to the batch's longest sequence, and `r_out[:, -1]` is then real output for the
# sequences of that length.) `accuracy_reading_padding` measures what reading it would cost.

# %%
def from_first_ink(images):
    """(batch, 28, 28) uint8 -> each image moved up to start at its first row with ink, blank
    rows as padding at the bottom, (batch, 28, 28), and each one's length in rows, (batch,)."""
    first = (images.amax(dim=2) > 0).int().argmax(dim=1)  # (batch,): index of the first inked row
    rows = torch.arange(28, device=images.device) + first[:, None]  # (batch, 28): rows to read
    moved = images.gather(1, rows.clamp(max=27)[:, :, None].expand(-1, -1, 28))
    return moved * (rows < 28)[:, :, None], 28 - first  # rows past the image: padding


def batch_input(images):
    """The network's input for a batch of images, and each sequence's length when PACKED."""
    if PACKED:
        moved, lengths = from_first_ink(images)
        return to_input(moved), lengths
    return to_input(images), None


@torch.inference_mode()
def accuracy_reading_padding(model, test_x, test_y):
    """PACKED: the accuracy if the classifier read r_out[:, -1], the padded output after step 28,
    instead of each sequence's own last state h_n[-1]."""
    x, lengths = batch_input(test_x)
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True,
                                               enforce_sorted=False)
    r_out, _ = nn.utils.rnn.pad_packed_sequence(model.rnn(packed)[0], batch_first=True,
                                                total_length=28)  # zeros after each sequence
    return (model.out(r_out[:, -1]).argmax(dim=1) == test_y).float().mean().item()


# %% [markdown]
# ## Training and testing
#
# Each epoch shuffles the training images and walks through them BATCH_SIZE at a time: the
# cross-entropy of the 10 scores, Adam with a learning rate that falls linearly to 0, and the
# gradient norm clipped at CLIP (early LSTM steps can be wild). After each epoch the model is
# scored on **all** 10,000 test images under `torch.inference_mode()`, which records no graph.
# The sine lessons use `torch.no_grad()`; `inference_mode` also skips autograd's version counters
# and view tracking, so it costs a little less, and its tensors can never be used in autograd
# later, which nothing here needs.
#
# `accuracy_by_row` asks a different question once training is over: since `r_out` holds h after
# every row, the same Linear layer can guess after row 1, 2, ..., 28. How good is each guess?

# %%
@torch.inference_mode()
def evaluate(model, test_x, test_y, batch_size=500):
    """Accuracy over all of test_x (no gradients, no autograd bookkeeping) and the predictions."""
    model.eval()
    predictions = torch.cat([model(*batch_input(test_x[i:i + batch_size])).argmax(dim=1)
                             for i in range(0, len(test_x), batch_size)])
    model.train()
    return (predictions == test_y).float().mean().item(), predictions


@torch.inference_mode()
def guesses_by_row(model, images):
    """The classifier applied to the output after every image row, as probabilities."""
    x, lengths = batch_input(images)
    r_out, _ = model.rnn(x)  # (batch, 28 steps, hidden): h after each step
    if lengths is not None:  # step j read image row first + j; before the first ink, h = 0
        step = torch.arange(28, device=x.device) - (28 - lengths)[:, None]  # (batch, 28 rows)
        r_out = r_out.gather(1, step.clamp(min=0)[:, :, None].expand_as(r_out))
        r_out = r_out * (step >= 0)[:, :, None]
    return model.out(r_out).softmax(dim=2)  # (batch, 28, 10): a guess after each image row


def accuracy_by_row(model, test_x, test_y, batch_size=500):
    """Test accuracy of the guess after row k, for k = 1..28: a (28,) tensor, in one pass."""
    model.eval()
    correct = sum((guesses_by_row(model, test_x[i:i + batch_size]).argmax(dim=2)
                   == test_y[i:i + batch_size, None]).sum(dim=0)  # (28,) right answers per row
                  for i in range(0, len(test_x), batch_size))
    model.train()
    return correct.cpu() / len(test_x)


def train(model, data, epochs=EPOCHS, batch_size=BATCH_SIZE, lr=LR, max_steps=MAX_STEPS,
          log=print):
    """Adam with a learning rate that decays linearly to 0.

    Returns the test accuracy after each epoch and the last epoch's test predictions.
    """
    train_x, train_y, test_x, test_y = data
    steps_per_epoch = math.ceil(len(train_x) / batch_size)
    total = epochs * steps_per_epoch
    if max_steps:  # 0: all epochs
        total = min(total, max_steps)
    # fused=True: on the CPU, one pass over each parameter does its whole Adam update, instead of
    # eight tensor operations each: 0.25-0.29 ms a step instead of 0.40-0.44, of 5.5-7.3 ms per
    # training step (2-core Intel Xeon, benchmarks/steps_402.py).
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    scheduler = torch.optim.lr_scheduler.LinearLR(optimizer, 1.0, 0.0, total_iters=total)
    start, step, accuracies = time.perf_counter(), 0, []
    log(f"training: {total} steps of {batch_size} images on {train_x.device}")
    try:
        for epoch in range(epochs):
            order = torch.randperm(len(train_x)).to(train_x.device)  # (60000,): a new shuffle
            for i in range(steps_per_epoch):
                index = order[i * batch_size:(i + 1) * batch_size]  # (batch,)
                x, lengths = batch_input(train_x[index])  # (batch, 28, 28); lengths or None
                loss = nn.functional.cross_entropy(model(x, lengths), train_y[index])
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), CLIP)
                optimizer.step()
                scheduler.step()
                step += 1
                if step == total:
                    break
            accuracy, predictions = evaluate(model, test_x, test_y)
            accuracies.append(accuracy)
            log(f"epoch {epoch + 1}/{epochs}  step {step}/{total}  loss {loss.item():.4f}  "
                f"test_accuracy {accuracy:.4f}  elapsed {time.perf_counter() - start:.1f}s")
            if step == total:
                break
    except KeyboardInterrupt:  # Ctrl-C: main() says where, in one line
        raise KeyboardInterrupt(f"at step {min(step + 1, total)} of {total}") from None
    return accuracies, predictions


# %% [markdown]
# ## How much gradient reaches each row
#
# Training can only teach the layer to use row t if the loss, computed after row 28, sends gradient
# back to row t. `gradient_by_row` measures how much arrives: the norm of ∂loss/∂x_t, the gradient
# at row t's 28 pixels, for each test image's own loss, averaged over the first 2,000 test images.
# ∂loss/∂x_t is the gradient that reaches the layer at row t (its gates', for the LSTM and the GRU),
# sent back through W_ih: a measure of what training gets from row t for the input weights (the
# recurrent weights' share is also scaled by h_{t-1}, which is 0 at row 1). The run measures it at
# initialisation and after training, prints row 1's and row 14's share of row 28's in its
# `gradients:` line, and draws all 28 on a log scale (`402_rnn_classifier_gradients.png`). It always
# feeds all 28 rows, unpacked, as the default run reads them; with `--packed` the model was trained
# on moved images, so its line there measures it on a layout it never trained on.

# %%
def gradient_by_row(model, images, labels, batch_size=500):
    """How much of the loss's gradient reaches each row t = 1..28: the norm of d loss / d x_t
    (x_t: row t's 28 pixels), each image's own loss, averaged over the images: (28,)."""
    total = torch.zeros(28)
    for i in range(0, len(images), batch_size):
        x = to_input(images[i:i + batch_size]).requires_grad_()  # all 28 rows, never packed
        loss = nn.functional.cross_entropy(model(x), labels[i:i + batch_size], reduction="sum")
        (grad,) = torch.autograd.grad(loss, x)  # (batch, 28, 28); the weights' .grad untouched
        total += grad.norm(dim=2).sum(dim=0).cpu()
    return total / len(images)


# %% [markdown]
# ## Pictures and the command line
#
# The folded cell below is the plumbing, alike in every lesson: saving and showing the figures,
# the flags (each sets the constant of the same name) and `main()`.

# %% jupyter={"source_hidden": true} cellView="form"
# @title Plumbing: MNIST files, figures, flags and main()
import argparse
import contextlib
import io
import os
import sys

import matplotlib.pyplot as plt
from filelock import FileLock
from torchvision.datasets.utils import check_integrity

NAME = "402_rnn_classifier"  # names the command and the figures; no __file__ needed


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
        fig.savefig(part, dpi=100, bbox_inches="tight")
    plt.show()  # nothing without a screen (Agg)
    plt.close(fig)


def draw(test_x, test_y, predictions, accuracies, accuracy):
    """Test digits titled predicted/true (mistakes in red) beside the accuracy per epoch."""
    mistakes = (predictions != test_y).nonzero().flatten()[:8].tolist()
    fig = plt.figure(figsize=(12, 5), layout="constrained")
    digits, curve = fig.subfigures(1, 2, width_ratios=[5, 3])
    for ax, i in zip(digits.subplots(3, 8).flat, list(range(16)) + mistakes):
        wrong = bool(predictions[i] != test_y[i])
        ax.imshow(test_x[i], cmap="gray_r")
        ax.set_title(f"{predictions[i]}/{test_y[i]}" + (" x" if wrong else ""), fontsize=11,
                     color="red" if wrong else "black")
    for ax in digits.axes:
        ax.axis("off")
    total_mistakes = int((predictions != test_y).sum())
    digits.suptitle("test digits, labelled predicted/true\nrows 1-2: the first 16; row 3: "
                    f"{len(mistakes)} of the {total_mistakes} mistakes (red x)")
    ax = curve.subplots()
    if accuracies:
        ax.plot(range(1, len(accuracies) + 1), accuracies, "o-", label="after each epoch")
        ax.set_xticks(range(1, len(accuracies) + 1))
    else:  # --load: no training, one measurement
        ax.plot([0], [accuracy], "o", label="loaded model")
    ax.set(title=f"accuracy on all 10,000 test images: {accuracy:.4f}", xlabel="epoch",
           ylabel="test accuracy")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.suptitle("402: an LSTM reads each MNIST digit row by row")
    save(fig, f"{NAME}.png")


def draw_rows(by_row, rows_to_90, test_x, probabilities):
    """The accuracy after each row, and a few digits revealed row by row beside the probability
    of the model's final answer."""
    rows = range(1, 29)
    fig = plt.figure(figsize=(14, 6), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=[5, 7])
    curve = left.subplots()
    curve.plot(rows, by_row, "o-", ms=4, label="guess after row k")
    curve.axhline(0.1, color="0.5", ls=":", label="chance (1 in 10)")
    curve.axhline(0.9, color="g", ls="--", lw=1, label="90 %")
    if rows_to_90:
        curve.axvline(rows_to_90, color="g", lw=1)
    curve.set(xlabel="rows read (k)", ylabel="test accuracy (all 10,000 images)", ylim=(0, 1.02),
              title=f"right after k rows; at least 90 % from row {rows_to_90 or '-'} on")
    curve.legend(loc="upper left", fontsize=9)
    curve.grid(alpha=0.3)
    final = probabilities[:, -1].argmax(dim=1)  # the answer after all 28 rows
    axes = right.subplots(len(test_x), 5, width_ratios=[1, 1, 1, 1, 3])
    for n, row in enumerate(axes):
        for ax, k in zip(row, (7, 14, 21, 28)):  # the digit as the LSTM has seen it after k rows
            seen = test_x[n] / 255.0
            seen[k:] = 0.15  # rows not read yet, in light grey
            ax.imshow(seen, cmap="gray_r", vmin=0, vmax=1)
            ax.set(xticks=[], yticks=[], title=f"{k} rows" if n == 0 else "")
        row[4].plot(rows, probabilities[n, :, final[n]], "b-")
        row[4].set(ylim=(-0.05, 1.05), xlim=(1, 28), yticks=[0, 1])
        row[4].set_title(f"P(final answer {int(final[n])}) after each row", fontsize=9)
    row[4].set_xlabel("rows read")
    fig.suptitle("402: what the LSTM knows after each row")
    save(fig, f"{NAME}_rows.png")


def draw_gradients(at_start, trained):
    """The gradient reaching each row, against row 28's, on a log scale."""
    fig, ax = plt.subplots(figsize=(8, 5), layout="constrained")
    for label, grads, style in (("at initialisation", at_start, "o--"), ("trained", trained, "o-")):
        if grads is not None:
            ax.plot(range(1, 29), grads / grads[-1], style, ms=4, label=label)
    ax.set(yscale="log", xlabel="row t", ylabel="|d loss / d x_t| against row 28's",
           title=f"402: how much gradient reaches each row ({CELL}, mean of 2,000 test images)")
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    save(fig, f"{NAME}_gradients.png")


def parse_flags(argv=None):
    """Every UPPER_CASE constant above is a flag (EPOCHS: --epochs) with its value as the
    default; the flags given set their constants. Numbers must be more than 0 (0 too where the
    default is 0), but SEED is any whole number. Then --device, --save, --load and --no-plot."""
    parser = argparse.ArgumentParser(prog=f"{NAME}.py", description="402 - LSTM classifier: "
                                     "read an MNIST digit row by row.")
    constants = {key: value for key, value in globals().items()
                 if key.isupper() and key != "NAME" and isinstance(value, (int, float, str))}
    for key, default in constants.items():  # True/False: --name and --no-name
        how = ({"action": argparse.BooleanOptionalAction} if isinstance(default, bool)
               else {"type": type(default)})
        parser.add_argument("--" + key.lower().replace("_", "-"), dest=key, default=default,
                            help=f"(default: {default!r})", **how)
    parser.add_argument("--device", default="auto", help="auto (the accelerator PyTorch finds, "
                        "else the CPU), cpu, or an accelerator: cuda, mps, xpu...")
    parser.add_argument("--save", metavar="PATH", help="write the trained model's state_dict here")
    parser.add_argument("--load", metavar="PATH", help="evaluate a saved state_dict; no training")
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
    found = torch.accelerator.current_accelerator() if torch.accelerator.is_available() else None
    if args.device == "auto":
        args.device = found.type if found else "cpu"
    elif args.device not in ("cpu", getattr(found, "type", "cpu")):
        parser.error(f"--device {args.device}: {args.device.upper()} is not available on this "
                     f"machine (try --device auto)")
    if args.load and not os.path.isfile(args.load):
        parser.error(f"--load {args.load}: no such file")
    if args.save:  # checked now, not after the training it would otherwise throw away
        folder = os.path.dirname(os.path.abspath(args.save))
        if os.path.isdir(args.save):
            parser.error(f"--save {args.save}: is a folder; give a file name, such as "
                         f"{os.path.join(args.save, NAME + '.pt')}")
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            parser.error(f"--save {args.save}: the folder {folder} does not exist or cannot be "
                         f"written")
    if not args.no_plot:
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
        data = [t.to(args.device) for t in load_mnist(DATA_DIR or find_data_dir())]
        if args.load:
            try:
                state = torch.load(args.load, map_location=args.device, weights_only=True)
                rows, hidden = state["rnn.weight_hh_l0"].shape  # gates x hidden, hidden
                model = Classifier(hidden, {4: "lstm", 3: "gru", 1: "rnn"}[rows // hidden])
                model.load_state_dict(state)
            except Exception as err:
                raise DataError(f"--load {args.load}: not a state_dict saved by this lesson "
                                f"({type(err).__name__})") from None
            model, accuracies, at_start = model.to(args.device), [], None
            accuracy, predictions = evaluate(model, data[2], data[3])
        else:
            model = Classifier(HIDDEN_SIZE, CELL).to(args.device)
            at_start = gradient_by_row(model, data[2][:2000], data[3][:2000])
            accuracies, predictions = train(model, data, EPOCHS, BATCH_SIZE, LR, MAX_STEPS)
            accuracy = accuracies[-1]
        trained = gradient_by_row(model, data[2][:2000], data[3][:2000])
        share = {row: [f"{g[row - 1] / g[-1]:.1e}" for g in (at_start, trained) if g is not None]
                 for row in (1, 14)}
        print(f"gradients: cell={CELL} row1/row28={'->'.join(share[1])} "
              f"row14/row28={'->'.join(share[14])}" + (" (at initialisation->trained)"
                                                       if at_start is not None else " (loaded)"))
        if PACKED:
            print(f"packed: reading r_out[:, -1] of the padded output instead of h_n[-1] gives "
                  f"test_accuracy={accuracy_reading_padding(model, data[2], data[3]):.4f}")
        by_row = accuracy_by_row(model, data[2], data[3])  # (28,); by_row[-1] is the accuracy
        rows_to_90 = next((k for k in range(1, 29) if by_row[k - 1] >= 0.9), None)
        wall_s = time.perf_counter() - start
        if args.save:
            with written_whole(args.save) as part:
                torch.save(model.state_dict(), part)
            print(f"saved: {args.save}")
        if not args.no_plot:
            test_x, test_y = data[2].cpu(), data[3].cpu()
            draw(test_x, test_y, predictions.cpu(), accuracies, accuracy)
            draw_rows(by_row, rows_to_90, test_x[:4], guesses_by_row(model, data[2][:4]).cpu())
            draw_gradients(at_start, trained)
            print(f"figures: {os.path.join(OUT, NAME)}.png, _rows.png, _gradients.png")
    except DataError as err:
        print(f"{NAME}.py: error: {err}", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt as stop:  # Ctrl-C: one line, and the shell's exit status for it
        print(" ".join(["interrupted", *stop.args]), file=sys.stderr)
        raise SystemExit(130) from None  # from None: a notebook shows no chained traceback
    print(f"final: test_accuracy={accuracy:.4f} rows_to_90={rows_to_90} wall_s={wall_s:.2f}")
    return accuracy


# %% [markdown]
# ## Run it
#
# From a terminal: `python 402_rnn_classifier.py` (flags as above). In a notebook, the next cell
# runs the lesson with the constants of the parameters cell;
# `%run 402_rnn_classifier.py --epochs 1` runs the file with flags instead. The path is from the
# notebook's folder: `%run ../402_rnn_classifier.py` from `notebooks/`,
# `%run ../../402_rnn_classifier.py` from `notebooks/zh/`.

# %%
if __name__ == "__main__":
    main()

# %% [markdown]
# ## Reading the results
#
# One line per epoch gives the loss of the last batch and the accuracy on all 10,000 test images.
# The `gradients:` line is explained below. The last line, `final: test_accuracy=...
# rows_to_90=... wall_s=...`, gives the accuracy after the last epoch, the fewest rows after
# which the model is right on 90 % of the test images, and the seconds spent on data, training,
# evaluation and the gradient measurement. The target is 0.980 or more. The same seed on the same
# machine and build, with the same number of threads, gives the same numbers; another CPU or a
# GPU sums in another order and moves the accuracy by about ±0.002: the default run gave 0.9815
# on a 2-core Intel Xeon (AVX-512), 0.9822 there with one thread (`OMP_NUM_THREADS=1`), and
# 0.9837 and 0.9833 on 2-core AMD EPYC machines. `rows_to_90` was 25 on all of them.
#
# - **Left picture:** test digits labelled predicted/true. The first two rows are the first 16
#   test images; the third row shows mistakes, in red. Many of them are digits a person would
#   hesitate over too.
# - **Right picture:** the test accuracy after each epoch.
#
# ### What the LSTM knows after each row (`402_rnn_classifier_rows.png`)
#
# `r_out` holds h after every row, so the same Linear layer can be asked for a guess after row
# k = 1, 2, ..., 28, for all 10,000 test images in one pass (`accuracy_by_row`). After row 28 it
# is the test accuracy. Before that, with the default run on the 2-core Intel Xeon: about 10 %
# (chance) up to row 7, 25 % at row 14, 57 % at row 20, 85 % at row 24, 93 % at row 25, 97.9 %
# at row 27 (on the AMD EPYC that gave 0.9837: 19 % at row 14, 54 % at row 20). The small digits
# on the right show a few test images as the LSTM has seen them after 7, 14, 21 and 28 rows,
# beside the probability of its final answer after each row: it makes up its mind in the last
# few rows, often well after a person could tell — the 2 is plain by row 21, the model says so
# at row 24 (on the Intel Xeon).
#
# Two things keep the early guesses near chance. The top rows are blank: row 1 in all 10,000 test
# images, rows 1-4 in 85 % of them, and blank rows look alike whatever the digit. And the loss
# only ever judged the guess after row 28. All 28 steps share the same weights and all of them
# get gradient (measured below), but nothing asked the output after an earlier row to be a guess
# at all. By row 7, 88 % of the digits have begun, and the guess is still at chance. Trained
# instead with the loss at every row (the cross-entropy of the guess after each row, averaged),
# measured on the AMD EPYC with the same settings: 90 % from row 13 instead of 25 (59 % at row 7,
# 93 % at row 14), but 0.978 after row 28 instead of 0.984. Asking every row for an answer costs
# a little of the last one.
#
# ### How far back the gradient reaches (`402_rnn_classifier_gradients.png`)
#
# The `gradients:` line gives, at initialisation and after training, how much gradient reaches
# row 1 and row 14, each against row 28's (the norm of ∂loss/∂x_t, averaged over the first 2,000
# test images); the picture draws all 28 rows on a log scale. The three cells, each run with
# `python 402_rnn_classifier.py --no-plot --cell CELL` (seed 1, 2 epochs, hidden 64, 2-core
# Intel Xeon):
#
# | `CELL` | test_accuracy | rows_to_90 | row 1 / row 28, at start → trained | row 14 / row 28 |
# |--------|---------------|------------|------------------------------------|-----------------|
# | `lstm` | 0.9815        | 25         | 0.034 → 0.64                       | 0.098 → 1.2     |
# | `gru`  | 0.9847        | 25         | 0.0060 → 0.45                      | 0.048 → 1.1     |
# | `rnn`  | 0.8988        | None       | 0.0059 → 0.19                      | 0.045 → 0.50    |
#
# **At initialisation**, the gradient shrinks from row 28 back to row 1 in every cell, and least in
# the LSTM: row 1 gets 1/29 of row 28's, against about 1/170 in the plain RNN and the GRU. Going
# back one row in the RNN multiplies the gradient by ∂h_t/∂h_{t-1} = diag(1 - h_t²) W_hh: orthogonal
# W_hh keeps its size, but every tanh' = 1 - h_t² < 1 takes a little off, row after row. The LSTM's
# c has an additive path, c_t = f ⊙ c_{t-1} + i ⊙ g: along it, one row back multiplies the gradient
# by f alone, with no weight matrix and no tanh' in between. That path alone is not what carries
# most of it here, though. In a copy of the cell written out by hand, with h_{t-1} detached where it
# enters the gates so that only the c path is left, row 1 gets 0.0005 of row 28's gradient at
# initialisation, less than the RNN's 0.006: f is 0.71 on average at initialisation (from 0.11 to
# 0.98, unit by unit), and 27 factors of 0.71 make 0.0001. Most of the LSTM's 1/29 comes by paths
# that go back and forth between c and h: from c_{t-1} through h_{t-1} into row t's gates and back
# into c. The forget gate scales every path that passes through c, so its bias sets the rate: at 0
# instead of 1 (f ≈ 0.5), row 1 got 0.00006 of row 28's gradient at initialisation instead of 0.034,
# over 500 times less. The GRU has the same kind of path, h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}; with z's
# bias at 0 (z ≈ 0.5) row 1 got 0.00009 of row 28's gradient at initialisation, at 1 (z ≈ 0.73)
# 0.0060, 66 times more, for much the same accuracy after training (0.9851 with the bias at 0,
# 0.9847 at 1, same seed and machine). The measure matters too: taken at the state h_t instead of
# the input x_t, the three cells differ much less at initialisation (row 1 against row 28: 0.0079 in
# the LSTM, about 0.006 in the GRU and the RNN).
#
# **After training** every cell sends row 1 about a fifth of row 28's gradient or more. Here the
# plain RNN does better than its reputation: its gradient does not vanish over these 28 rows.
# Training grew W_hh to make up for the tanh' factors: the trained W_hh stretches some directions by
# up to 4.7 (36 of its 64 singular values are above 1, all were 1 at the start). Yet it is the one
# that falls short, 0.899 against 0.98, and its guess after each row shows where: 6 to 17 % (chance
# is 10 %) up to row 24, then 26 % at row 25, 50 % at row 26, 79 % at row 27, 89.9 % at row 28. It
# decides from the last few rows. A gradient that reaches row 1 says the loss is sensitive to row 1,
# not that the state keeps what row 1 said: every row rewrites all of the RNN's h through W_hh and a
# tanh, so a stroke seen at row 10 has to survive 18 rewrites mixed with new rows, while the LSTM
# can hold it in c untouched (f ≈ 1, i ≈ 0) and the GRU in h (z ≈ 1).
#
# ### Digits of different lengths (`--packed`)
#
# `python 402_rnn_classifier.py --no-plot --packed` gave 0.9808 on the 2-core Intel Xeon, against
# the default's 0.9815 (`rows_to_90` 25 for both): reading each digit from its first ink changes
# little, as the blank rows above carry nothing. Its `packed:` line shows what reading the padded
# output would have done. In the test set every digit has at least one blank row above it, so
# every sequence is shorter than 28 rows and every `r_out[:, -1]` is padding, zeros; the
# classifier then gives each image the same answer (a 7, from its bias), right for the 1,028
# sevens: 0.1028. `h_n[-1]` is the state after each sequence's own last row. The other common
# slip, feeding the padded batch without packing it, lets the layer run on over the blank
# padding rows: with the same trained weights that gives 0.919.
#
# The sequences average 23.2 rows of 28, so the packed layer computes 17 % fewer rows, yet it ran
# slower. Back to back on the 2-core Intel Xeon, training took 18.5 s packed against 5.5 s for the
# default (`wall_s` 22.7 against 6.9); with one thread (`OMP_NUM_THREADS=1`), 24.3 s against
# 7.5 s, for 0.9821 against 0.9822. On this CPU, with lengths this close, packing costs time
# rather than saving it; what it buys is that no state ever reads padding.

# %% [markdown]
# ## Things to try
#
# Each with what it gave (seed 1, on the 2-core AMD EPYC that gave 0.9837; on another EPYC each
# result moved by about 0.001, `EPOCHS = 1` giving 0.9760; on the 2-core Intel Xeon, where the
# default gives 0.9815, expect each to move by up to about 0.002):
#
# - `EPOCHS = 1` (`--epochs 1`): 0.9750 in half the time; the learning rate then falls to 0 within
#   one pass.
# - `EPOCHS = 4`: 0.9857; more epochs still help, slowly.
# - `HIDDEN_SIZE = 32`: 0.9714. Half the state, and a quarter of the recurrent weights.
# - `BATCH_SIZE = 256`: 0.9792, half as many steps per epoch.
# - In `forward`, classify from `r_out[:, 13, :]` (the output after row 14) instead of the last
#   row: deciding from the top half of each digit, it still gets 0.9382.
# - `CELL = "gru"` or `"rnn"`, and `PACKED = True`: measured above, on the Intel Xeon.
