# %% [markdown]
# # 402 · An LSTM reads a handwritten digit, one row at a time
#
# **You will learn** to classify a whole sequence from its last step: many-to-one, or sequence
# classification. Read 401 first.
#
# A 28x28 MNIST digit is 28 rows of 28 pixels: read top to bottom, a sequence of 28 time steps.
# An LSTM reads one row per step; after the last row, a Linear layer turns its output into 10
# scores, one per digit. There is no convolution: all the classifier knows about the digit has
# passed through the LSTM's state, row after row. Each image is a sequence of its own, so each
# starts from a **fresh zero state**.
#
# Run it with `python 402_rnn_classifier.py`, or run this notebook. You should see the loss fall,
# then `final: test_accuracy=0.98... rows_to_90=25 wall_s=...` after about 15 s on a 2-core CPU,
# and the figures in `results/`: the accuracy on all 10,000 test images, and the first row k
# after which the guess made so far is right on 90 % of them.

# %%
import math
import time

import torch
import torchvision
from torch import nn

# %% [markdown]
# ## Hyperparameters
#
# Edit them here, or pass them as flags: `EPOCHS` is `--epochs` (`--help` lists all).

# %% tags=["parameters"]
EPOCHS = 2           # passes over the 60,000 training images
BATCH_SIZE = 128     # images per step
LR = 0.01            # Adam's learning rate at the start; it decays linearly to 0 over the run
HIDDEN_SIZE = 64     # size of the hidden state h (and of the LSTM's cell state c)
CLIP = 1.0           # largest gradient norm allowed per step (keeps early LSTM steps sane)
MAX_STEPS = 0        # stop after this many training steps, for a quick look; 0: all EPOCHS
SEED = 1             # same seed, machine, build and thread count: the same numbers
DATA_DIR = ""        # folder with MNIST/raw/*.gz; "": find mnist/ here or up to 2 folders up
OUT = "results"      # folder for the figures

# %% [markdown]
# ## The data: 70,000 digits as four tensors
#
# The four MNIST archives ship in `mnist/MNIST/raw/`, so no network is needed. `load_mnist`
# extracts them there once, and `torchvision.datasets.MNIST` reads the extracted files. Its
# `.data` is every image in one uint8 tensor, (60000, 28, 28) for training and (10000, 28, 28)
# for testing; `.targets` holds the labels. (A dataset attribute, not `Tensor.data`, which
# PyTorch discourages.)
#
# The whole set stays in memory and each batch is a slice of it, (batch, 28, 28): what the LSTM
# wants with `batch_first=True`, (batch, time = 28 rows, feature = 28 pixels).

# %%
def load_mnist(root):
    """All of MNIST as four tensors: train_x (60000, 28, 28) uint8, train_y (60000,) int64,
    test_x (10000, 28, 28) uint8, test_y (10000,) int64. Pixels are 0..255; see to_input().
    """
    prepare_mnist(root)  # checks and extracts the archives (in the plumbing, near the end)
    train_set = torchvision.datasets.MNIST(root, train=True, download=False)
    test_set = torchvision.datasets.MNIST(root, train=False, download=False)
    return train_set.data, train_set.targets, test_set.data, test_set.targets


def to_input(images):
    """(batch, 28, 28) uint8 pixels -> (batch, 28, 28) float32 with mean 0 and std 1."""
    mean, std = 0.1307, 0.3081  # of MNIST's training pixels, scaled to [0, 1]
    return images.float().div_(255.0).sub_(mean).div_(std)


# %% [markdown]
# ## The model: an LSTM, and a Linear layer on its last step
#
# An LSTM is a recurrent layer like 401's `nn.RNN` with a second state c, the **cell state**, and
# gates that decide at every step what c forgets, adds and shows as h. Its weights keep 401's
# names: W_ih (`weight_ih_l0`) multiplies the row x_t, W_hh (`weight_hh_l0`) multiplies h_{t-1},
# with biases b_ih and b_hh; each now stacks four blocks in PyTorch's order i, f, g, o: the input
# gate, the forget gate, the candidate and the output gate. The LSTM, the forget gate's bias and
# the gradient clipping below are taken on trust until 403 (the gates) and 405 (why the bias and
# the clipping).
#
# `self.rnn(x)` returns `r_out`, h after every row, (batch, 28, hidden), and the final pair
# `(h_n, c_n)`, each (1, batch, hidden). This is **many-to-one**: 28 steps in, one answer out.
# The Linear layer reads `r_out[:, -1]`, the output after the last row, the only one that has seen
# the whole image; for this one-direction layer it equals `h_n[-1]` (h_n is (num_layers, batch,
# hidden): [-1] is the last layer's, here the only one).
#
# **No state is passed in, so every batch starts from h0 = c0 = 0.** In 401 each window of the
# wave continued the state of the one before. Here each image is a sequence of its own: a state
# carried over from the last batch would hold other digits' rows.
#
# One line of initialisation: the forget gate's bias starts at 1, so f starts near σ(1) ≈ 0.73
# and c keeps most of what it held from row to row. With PyTorch's default bias instead, one seed
# of three fell short of 0.98, and all three reached 90 % a row later (`rows_to_90` 26, not 25).

# %%
class Classifier(nn.Module):
    def __init__(self, hidden_size=HIDDEN_SIZE):
        super().__init__()
        self.rnn = nn.LSTM(input_size=28, hidden_size=hidden_size,  # a row: 28 pixels
                           batch_first=True)  # x is (batch, time, feature)
        self.out = nn.Linear(hidden_size, 10)  # 10 scores, one per digit
        with torch.no_grad():  # f's bias, b_ih + b_hh = 1 + 0 (blocks stacked i, f, g, o)
            self.rnn.bias_ih_l0[hidden_size:2 * hidden_size].fill_(1.0)
            self.rnn.bias_hh_l0[hidden_size:2 * hidden_size].fill_(0.0)

    def forward(self, x):
        # x: (batch, time=28 rows, feature=28 pixels). No state given: h0 = c0 = 0.
        r_out, (h_n, c_n) = self.rnn(x)  # r_out: (batch, 28, hidden); h_n, c_n: (1, batch, hidden)
        return self.out(r_out[:, -1, :])  # after the last row: (batch, hidden) -> (batch, 10)


# %% [markdown]
# ## Training and testing
#
# Each epoch shuffles the training images and walks through them BATCH_SIZE at a time: the
# cross-entropy of the 10 scores, Adam with a learning rate falling linearly to 0, the gradient
# norm clipped at CLIP. It prints the loss at step 1 and every 200 steps, and after each epoch the
# accuracy on **all** 10,000 test images, under `torch.no_grad()`.
#
# `r_out` holds h after every row, so the same Linear layer can also guess after row 1, 2, ...,
# 28 (`accuracy_by_row`). The loss only judged the guess after row 28; how good are the others?

# %%
@torch.no_grad()
def evaluate(model, test_x, test_y, batch_size=500):
    """Accuracy over all of test_x, and the predictions: (len(test_x),)."""
    model.eval()
    predictions = torch.cat([model(to_input(test_x[i:i + batch_size])).argmax(dim=1)
                             for i in range(0, len(test_x), batch_size)])
    model.train()
    return (predictions == test_y).float().mean().item(), predictions


@torch.no_grad()
def guesses_by_row(model, images):
    """The classifier applied to the output after every row: probabilities (batch, 28, 10)."""
    r_out, _ = model.rnn(to_input(images))  # (batch, 28, hidden): h after each row
    return model.out(r_out).softmax(dim=2)  # the Linear layer acts on the last dimension


def accuracy_by_row(model, test_x, test_y, batch_size=500):
    """Test accuracy of the guess after row k, for k = 1..28: a (28,) tensor."""
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
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.LinearLR(optimizer, 1.0, 0.0, total_iters=total)
    start, step, accuracies = time.perf_counter(), 0, []
    log(f"training: {total} steps of {batch_size} images on {train_x.device}")
    log(model)  # the layers and their sizes
    try:
        for epoch in range(epochs):
            order = torch.randperm(len(train_x)).to(train_x.device)  # (60000,): a new shuffle
            for i in range(steps_per_epoch):
                index = order[i * batch_size:(i + 1) * batch_size]  # (batch,)
                scores = model(to_input(train_x[index]))  # (batch, 28, 28) -> (batch, 10)
                loss = nn.functional.cross_entropy(scores, train_y[index])
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), CLIP)
                optimizer.step()
                scheduler.step()
                step += 1
                if step == 1 or step % 200 == 0:
                    log(f"step {step}/{total}  loss {loss.item():.4f}")
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
# ## Pictures and the command line
#
# The folded cell below is the plumbing, alike in every lesson: MNIST files, figures, flags and
# `main()`.

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
        fig.savefig(part, dpi=100)  # 11 inches: 1,100 px wide
    plt.show()  # nothing without a screen (Agg)
    plt.close(fig)


def draw(test_x, test_y, predictions, accuracies, accuracy):
    """Test digits titled predicted/true (mistakes in red) beside the accuracy per epoch."""
    mistakes = (predictions != test_y).nonzero().flatten()[:8].tolist()
    fig = plt.figure(figsize=(11, 4.8), layout="constrained")
    digits, curve = fig.subfigures(1, 2, width_ratios=[3, 2])
    for ax, i in zip(digits.subplots(3, 8).flat, list(range(16)) + mistakes):
        wrong = bool(predictions[i] != test_y[i])
        ax.imshow(test_x[i], cmap="gray_r")
        ax.set_title(f"{predictions[i]}/{test_y[i]}",
                     color="red" if wrong else "black", fontweight="bold" if wrong else None)
    for ax in digits.axes:
        ax.axis("off")
    total_mistakes = int((predictions != test_y).sum())
    digits.suptitle("test digits, predicted/true\nrows 1-2: the first 16; row 3: "
                    f"{len(mistakes)} of the {total_mistakes} mistakes (red)", fontsize=12)
    ax = curve.subplots()
    if accuracies:
        ax.plot(range(1, len(accuracies) + 1), accuracies, "o-", label="after each epoch")
        ax.set_xticks(range(1, len(accuracies) + 1))
    else:  # --load: no training, one measurement
        ax.plot([0], [accuracy], "o", label="loaded model")
    ax.set(title=f"all 10,000 test images: {accuracy:.4f}", xlabel="epoch",
           ylabel="test accuracy")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.suptitle("402: an LSTM reads each MNIST digit row by row")
    save(fig, f"{NAME}.png")


def draw_rows(by_row, rows_to_90, test_x, probabilities):
    """The accuracy after each row, and a few digits revealed row by row beside the probability
    of the model's final answer."""
    rows = range(1, 29)
    fig = plt.figure(figsize=(11, 6), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=[4, 6])
    curve = left.subplots()
    curve.plot(rows, by_row, "o-", ms=4, label="guess after row k")
    curve.axhline(0.1, color="0.5", ls=":", label="chance (1 in 10)")
    curve.axhline(0.9, color="g", ls="--", lw=1, label="90 %")
    if rows_to_90:
        curve.axvline(rows_to_90, color="g", lw=1)
    curve.set(xlabel="rows read (k)", ylabel="test accuracy (10,000 images)", ylim=(0, 1.02),
              title=f"90 % right from row {rows_to_90 or '-'} on")
    curve.legend(loc="upper left")
    curve.grid(alpha=0.3)
    final = probabilities[:, -1].argmax(dim=1)  # the answer after all 28 rows
    axes = right.subplots(len(test_x), 5, width_ratios=[1, 1, 1, 1, 2.6])
    for n, row in enumerate(axes):
        for ax, k in zip(row, (7, 14, 21, 28)):  # the digit as the LSTM has seen it after k rows
            seen = test_x[n] / 255.0
            seen[k:] = 0.15  # rows not read yet, in light grey
            ax.imshow(seen, cmap="gray_r", vmin=0, vmax=1)
            ax.set(xticks=[], yticks=[], title=f"{k} rows" if n == 0 else "")
        row[4].plot(rows, probabilities[n, :, final[n]], "b-")
        row[4].set(ylim=(-0.05, 1.05), xlim=(1, 28), yticks=[0, 1], xticks=[7, 14, 21, 28])
        row[4].set_title(f"P({int(final[n])}) after each row", fontsize=12)
    row[4].set_xlabel("rows read")
    right.suptitle("a few test digits, as read so far", fontsize=12)
    fig.suptitle("402: what the LSTM knows after each row")
    save(fig, f"{NAME}_rows.png")


def constant_comments():
    """{NAME: the comment beside it in the parameters cell}, for --help: read from this file, or
    in a notebook (no file) from the cells the kernel has run."""
    path = globals().get("__file__")
    text = open(path, encoding="utf-8").read() if path else "\n".join(globals().get("In", []))
    return dict(re.findall(r"^([A-Z][A-Z0-9_]*) = [^#\n]*#\s*(.+)$", text, re.MULTILINE))


def parse_flags(argv=None):
    """Every UPPER_CASE constant above is a flag (EPOCHS: --epochs) with its value as the
    default; the flags given set their constants. Numbers must be more than 0 (0 too where the
    default is 0), but SEED is any whole number. Then --device, --save, --load and --no-plot."""
    parser = argparse.ArgumentParser(prog=f"{NAME}.py", description="402 - LSTM classifier: "
                                     "read an MNIST digit row by row.")
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
    parser.add_argument("--save", metavar="PATH", help="write the trained model's state_dict here")
    parser.add_argument("--load", metavar="PATH", help="evaluate a saved state_dict; no training")
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
                model = Classifier(state["rnn.weight_hh_l0"].shape[1])  # (4 * hidden, hidden)
                model.load_state_dict(state)
            except Exception as err:
                raise DataError(f"--load {args.load}: not a state_dict saved by this lesson "
                                f"({type(err).__name__})") from None
            model, accuracies = model.to(args.device), []
            accuracy, predictions = evaluate(model, data[2], data[3])
        else:
            model = Classifier(HIDDEN_SIZE).to(args.device)
            accuracies, predictions = train(model, data, EPOCHS, BATCH_SIZE, LR, MAX_STEPS)
            accuracy = accuracies[-1]
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
            print(f"figures: {os.path.join(OUT, NAME)}.png and _rows.png")
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
# The next cell runs the lesson with the constants above. With flags, in a notebook:
# `%run ../402_rnn_classifier.py --epochs 1` (from `notebooks/`; `../../` from `notebooks/zh/`).

# %%
if __name__ == "__main__":
    main()

# %% [markdown]
# ## Reading the results
#
# The `step` lines show the loss of one batch falling from 2.31 at step 1 (near ln 10 ≈ 2.30, a
# blind guess) to about 0.1. The `epoch` lines give the accuracy on all 10,000 test images, never
# seen in training. The default run ended with `final: test_accuracy=0.9834 rows_to_90=25`
# (target: 0.98 or more); another machine, thread count or seed moves the last digits (see
# "Measured on").
#
# - **Left picture**: test digits labelled predicted/true, mistakes in red; many are digits a
#   person would hesitate over too.
# - **Right picture**: the test accuracy after each epoch.
#
# **What the LSTM knows after each row** (`402_rnn_classifier_rows.png`). Left: the accuracy of the
# guess after row k, on all test images: 13 % after 7 rows, 21 % after 14, 59 % after 21, then a
# fast climb to 93 % at row 25, the `rows_to_90` of the `final:` line. Right: a few test digits as
# the LSTM has seen them after 7, 14, 21 and 28 rows, beside the probability of its final answer
# after each row. It makes up its mind in the last few rows, often well after a person could tell.
#
# Why so late? The top rows are blank (row 1 in every test image, rows 1-4 in 85 %), and blank
# rows look alike whatever the digit. After four blank rows, all those images have the same state,
# so the same guess, 6, and only 0.8 % of them are 6s: hence 3 % after row 4, below chance. And
# the loss only judged the guess after row 28.

# %% [markdown]
# ## Things to try
#
# Each with what it gave (seed 1, where the default gives 0.9834):
#
# - `EPOCHS = 1` (`--epochs 1`): 0.9766, in about 60 % of the time.
# - `EPOCHS = 4`: 0.9869. Over seeds 1-3, 0.9850 to 0.9869, against 0.9815 to 0.9834 with 2
#   epochs: more epochs still help, a little.
# - `HIDDEN_SIZE = 32`: 0.9702. Half the state, a quarter of the weights in W_hh.
# - `BATCH_SIZE = 256`: 0.9819, with half as many steps.
# - In `forward`, classify from `r_out[:, 13, :]`, the output after row 14: 0.9416 from the top
#   half of each digit, 90 % right already at row 13, but only 19 % at row 28. The LSTM answers
#   where the loss asks.

# %% [markdown]
# ## Measured on
#
# A 2-core AMD EPYC (`lscpu`), torch 2.14.1 on the CPU, one thread (`OMP_NUM_THREADS=1`); the
# default run took 16.9 s (two threads: 11.8 s, 0.9829). Another thread count or machine moves the last digits.
#
# | run | seed 1 | seed 2 | seed 3 |
# |-----|--------|--------|--------|
# | default: `test_accuracy`, `rows_to_90` | 0.9834, 25 | 0.9833, 25 | 0.9815, 25 |
# | forget-gate bias at PyTorch's default | 0.9823, 26 | 0.9784, 26 | 0.9806, 26 |
# | `EPOCHS = 4` | 0.9869, 25 | 0.9850, 25 | 0.9852, 25 |
