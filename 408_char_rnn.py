# %% [markdown]
# # 408 · A language model that writes one character at a time
#
# A **language model** gives, for every place in a text, the probability of what comes next.
# Here it reads tiny Shakespeare (1,115,394 characters of the plays) one character at a time and
# learns to predict the next character; then it writes new text by drawing a character from its
# own prediction, feeding it back in and drawing again.
#
# You will learn how text becomes numbers (a vocabulary and an `nn.Embedding`), how an LSTM is
# trained to predict every next character of a long text (many-to-many, with teacher forcing),
# how to score it honestly in bits per character against simple baselines, and how the
# temperature changes what it writes. Read 403 first (the LSTM and its (h, c) state) and 407
# (long streams read a window at a time: truncated backpropagation through time).
#
# Run it with `python 408_char_rnn.py`, or run this notebook. After about a minute on a 2-core
# CPU it prints `final: val_loss=1.5... val_bpc=2.2... wall_s=...` (the target is val_loss <=
# 1.60 nats per character) and saves its figures in `results/`. Along the way it prints samples:
# watch noise turn into something that looks like a play.

# %%
import math
import time

import torch
from torch import nn

# %% [markdown]
# ## Hyperparameters
#
# Edit them here (in a notebook: in this cell, then run all cells below) or pass them as flags:
# each constant is the flag of the same name, `STEPS` is `--steps`, `TEMPERATURE` is
# `--temperature` (`python 408_char_rnn.py --temperature 0.5`; `--help` lists them).

# %% tags=["parameters"]
HIDDEN_SIZE = 256    # size of h and of c
EMBED_SIZE = 64      # length of the vector each character is looked up as
SEQ_LEN = 100        # characters per window: the farthest a gradient reaches back (truncated BPTT)
BATCH_SIZE = 32      # streams of text read side by side, one per batch row
STEPS = 800          # training steps, one window of every stream each
LR = 0.01            # Adam's learning rate at the start; it decays to 0 over STEPS (cosine)
TEMPERATURE = 0.8    # sampling: below 1 safer, more repetitive text; above 1 wilder; more than 0
PROMPT = "ROMEO:"    # the text the samples start from (characters of the text only)
LENGTH = 400         # characters sampled after the prompt at the end
SAMPLE_EVERY = 200   # every this many steps: a short sample and the held-out loss
SEED = 1             # same seed, machine, build and thread count: the same numbers
DATA_FILE = ""       # path of input.txt; "": data/tinyshakespeare/input.txt, looked for nearby
OUT = "results"      # folder for the figures

# %% [markdown]
# ## The data: characters as numbers
#
# The **vocabulary** is the sorted set of characters the text uses: 65 of them (52 letters, 10
# punctuation marks, the digit 3, space and newline). Each character becomes its index in that
# list, so the text becomes one long tensor of whole numbers.
#
# The first 90 % of the characters are for training; the last 10 %, which training never reads,
# give every held-out figure below (a test pins it).
#
# Training reads the text as BATCH_SIZE long **streams**: the training part is cut into
# BATCH_SIZE equal pieces, one per batch row, and each step reads the next SEQ_LEN characters of
# every piece. Row i of one window is continued by row i of the next, so the state (h, c) that
# row i ends a window with is exactly the state row i needs to begin the next one. It is carried
# from window to window and detached, so gradients flow back through one window only: the
# truncated backpropagation through time of lesson 407. The targets are the inputs moved on by
# one character.

# %%
def load_text(path):
    """The text, its vocabulary (sorted characters) and the text as ids: (characters,) int64."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    vocab = sorted(set(text))
    lookup = {char: i for i, char in enumerate(vocab)}
    return text, vocab, torch.tensor([lookup[char] for char in text])


def split(ids, train_share=0.9):
    """The first 90 % of the ids for training, the rest held out."""
    n = int(len(ids) * train_share)
    return ids[:n], ids[n:]


def batches(ids, batch_size=BATCH_SIZE, seq_len=SEQ_LEN):
    """Endless windows over batch_size streams of ids, one per row.

    Yields (x, y, first): x and y are (batch, seq_len) ids, y being x moved on by one character;
    first is True at the start of a pass, where the state must start again from zeros.
    """
    length = (len(ids) - 1) // batch_size                    # characters per stream
    x = ids[:batch_size * length].view(batch_size, length)   # row i: stream i
    y = ids[1:batch_size * length + 1].view(batch_size, length)
    while True:
        for k, start in enumerate(range(0, length - seq_len + 1, seq_len)):
            yield x[:, start:start + seq_len], y[:, start:start + seq_len], k == 0


# %% [markdown]
# ## Baselines: what a model must beat
#
# A figure such as "1.6 nats per character" means little alone. Three simpler models, fitted on
# the same training part and scored on the held-out text, tell how much the LSTM
# adds:
#
# - **uniform**: every character equally likely, ln 65 = 4.17 nats: knowing nothing.
# - **unigram**: each character with its add-one frequency in the training text.
# - **bigram**: each character with its frequency after the character before it, from counts of
#   character pairs. A pair the training never saw would get probability 0 and an infinite
#   loss, so every count starts at 1 (add-one smoothing).
#
# The loss is the cross-entropy, the mean of -ln p(true next character), in nats per character.
# Divided by ln 2 it is in **bits per character** (bpc), the unit papers on text use. exp(loss)
# is the **perplexity**: the model is as unsure as if it chose among that many characters.

# %%
def baseline_losses(train_ids, held_ids, vocab_size):
    """Held-out cross-entropy (nats per character) of uniform, unigram and bigram models fitted
    on train_ids; every held-out character after the first is predicted."""
    prev, target = held_ids[:-1], held_ids[1:]
    unigram = torch.bincount(train_ids, minlength=vocab_size).double() + 1    # (vocab,)
    pairs = torch.bincount(train_ids[:-1] * vocab_size + train_ids[1:],
                           minlength=vocab_size ** 2).double().view(vocab_size, vocab_size) + 1
    unigram_p = unigram / unigram.sum()
    bigram_p = pairs / pairs.sum(dim=1, keepdim=True)                           # row: previous
    return {"uniform": math.log(vocab_size),
            "unigram": -unigram_p[target].log().mean().item(),
            "bigram": -bigram_p[prev, target].log().mean().item()}


# %% [markdown]
# ## The model: Embedding -> LSTM -> Linear
#
# - `nn.Embedding(65, EMBED_SIZE)` is a table with one learned row per character: looking up id
#   17 returns row 17. It is what a one-hot vector times a weight matrix would give, without the
#   zeros.
# - `nn.LSTM` reads the vectors one step at a time, carrying (h, c), as in 403.
# - `nn.Linear(HIDDEN_SIZE, 65)` turns h at every step into 65 scores (logits), one per
#   character; softmax turns them into the probabilities of the next character.
#
# Every step has a target, the next character: this is many-to-many. And during training the
# input at every step is the *true* previous character, never the model's own guess: that is
# **teacher forcing**. Only when sampling does the model read its own output.

# %%
class CharLSTM(nn.Module):
    def __init__(self, vocab_size=65, embed_size=EMBED_SIZE, hidden_size=HIDDEN_SIZE):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.lstm = nn.LSTM(embed_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, vocab_size)

    def forward(self, x, state=None):
        # x:      (batch, time) character ids
        # state:  None (zeros) or (h, c), each (num_layers=1, batch, hidden)
        # e:      (batch, time, embed)
        # r_out:  (batch, time, hidden), h at every step
        # logits: (batch, time, vocab), scores for the next character
        e = self.embed(x)
        r_out, state = self.lstm(e, state)
        return self.out(r_out), state


# %% [markdown]
# ## Training: every next character, the state carried row by row
#
# The loss is the cross-entropy over all BATCH_SIZE x SEQ_LEN predictions of a window. The
# gradient's norm is clipped at 5, a guard against an exploding gradient that the default run
# never needs (its largest norm was 0.99). The state goes from each window to the next, detached;
# a new pass over the text starts again from zeros.

# %%
def train_step(model, optimizer, x, y, state):
    """One window: forward, loss, backward, update. Returns the next state and the loss."""
    logits, (h, c) = model(x, state)                 # (batch, seq_len, vocab)
    h, c = h.detach(), c.detach()                    # keep the numbers, drop the graph
    loss = nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten())  # mean over all steps
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    optimizer.step()
    return (h, c), loss.item()


def train(model, train_ids, steps=STEPS, lr=LR, batch_size=BATCH_SIZE, seq_len=SEQ_LEN,
          every=SAMPLE_EVERY, report=None):
    """Train on windows of batch_size streams of train_ids; at the start and every `every` steps
    call report(step, mean loss of those steps). Returns the loss of every step."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    device = next(model.parameters()).device
    windows, losses, state = batches(train_ids.to(device), batch_size, seq_len), [], None
    print(f"training: {steps} steps, {batch_size} streams x {seq_len} characters each, on "
          f"{device.type}")
    step = 0
    try:
        if report:
            report(0, None)  # before the first step
        for step in range(1, steps + 1):
            x, y, first = next(windows)
            if first:
                state = None  # a new pass: the streams start again, from zeros
            state, loss = train_step(model, optimizer, x, y, state)
            scheduler.step()
            losses.append(loss)
            if report and (step % every == 0 or step == steps):
                report(step, sum(losses[-every:]) / len(losses[-every:]))
    except KeyboardInterrupt:  # Ctrl-C: main() says where, in one line
        raise KeyboardInterrupt(f"at step {step} of {steps}") from None
    return losses


# %% [markdown]
# ## The held-out loss, with the state carried
#
# `evaluate` reads the held-out text as 16 streams, each from a zero state, the state carried
# through all of it; every character after a stream's first is scored. It returns the mean loss
# and the loss of every character (its "surprise"), drawn below.

# %%
@torch.no_grad()
def evaluate(model, held_ids, rows=16, chunk=1000):
    """Mean held-out cross-entropy (nats per character), and each scored character's loss as
    (rows, length - 1): row i is stream i of the held-out text."""
    model.eval()
    device = next(model.parameters()).device
    length = len(held_ids) // rows
    ids = held_ids[:rows * length].view(rows, length).to(device)  # row i: stream i
    state, losses = None, []
    for start in range(0, length - 1, chunk):
        x = ids[:, start:min(start + chunk, length - 1)]
        y = ids[:, start + 1:start + 1 + x.size(1)]
        logits, state = model(x, state)
        losses.append(nn.functional.cross_entropy(logits.transpose(1, 2), y, reduction="none"))
    model.train()
    losses = torch.cat(losses, dim=1).cpu()
    return losses.mean().item(), losses


# %% [markdown]
# ## Sampling: the model writes
#
# To write, the model reads the prompt, then repeats: turn the last step's logits into
# probabilities, draw one character, feed it back in as the next input, with the state carried.
# The **temperature** divides the logits before the softmax: below 1 it sharpens the
# distribution (safer, more repetitive text), above 1 it flattens it (more surprises, more
# misspellings). At the limit of 0 it always takes the most likely character: **greedy**
# decoding, `temperature=0` below.

# %%
@torch.no_grad()
def sample(model, vocab, prompt=PROMPT, length=LENGTH, temperature=TEMPERATURE, seed=SEED):
    """The prompt and `length` characters written after it; temperature 0: always the likeliest.
    The same seed gives the same text."""
    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator(device).manual_seed(seed)
    lookup = {char: i for i, char in enumerate(vocab)}
    x = torch.tensor([[lookup[char] for char in prompt]], device=device)  # (1, len(prompt))
    logits, state = model(x)          # read the whole prompt; state: after its last character
    written = []
    for _ in range(length):
        last = logits[0, -1]                                              # (vocab,)
        if temperature == 0:
            nxt = last.argmax()
        else:
            probabilities = torch.softmax(last / temperature, dim=0)
            nxt = torch.multinomial(probabilities, 1, generator=generator)[0]
        written.append(vocab[nxt.item()])
        logits, state = model(nxt.view(1, 1), state)                     # its own output back in
    model.train()
    return prompt + "".join(written)


def cycle_of(text):
    """(period, start) of the cycle text ends in: the shortest period p that repeats over the
    last quarter of text, and the first index from which text repeats with period p."""
    tail = len(text) // 4
    for p in range(1, tail // 2 + 1):
        if all(text[i] == text[i + p] for i in range(len(text) - tail, len(text) - p)):
            start = len(text) - tail
            while start > 0 and text[start - 1] == text[start - 1 + p]:
                start -= 1
            return p, start
    return None, None


# %% [markdown]
# ## Pictures and the command line
#
# The folded cell below is the plumbing, alike in every lesson: the data file's check, saving and
# showing the figures, the flags (each sets the constant of the same name) and `main()`.

# %% jupyter={"source_hidden": true} cellView="form"
# @title Plumbing: data check, figures, flags and main()
import argparse
import contextlib
import hashlib
import os
import re
import sys

import matplotlib.pyplot as plt
import numpy as np

NAME = "408_char_rnn"  # names the command and the figures; no __file__ needed
MD5 = "6fb458f1232090904fb40fe944165e91"  # of tiny Shakespeare's input.txt as shipped
PASSAGE = 480          # held-out characters drawn coloured by their loss


class DataError(Exception):
    """Bad input the lesson cannot run on; the message says what failed and what to do."""


def find_data_file():
    """data/tinyshakespeare/input.txt beside this file, in the working folder, or one or two
    folders up (a notebook run from notebooks/ or notebooks/zh/)."""
    here = os.path.dirname(os.path.abspath(__file__)) if "__file__" in globals() else os.getcwd()
    up = os.path.dirname(os.getcwd())
    for folder in (here, os.getcwd(), up, os.path.dirname(up)):
        path = os.path.join(folder, "data", "tinyshakespeare", "input.txt")
        if os.path.isfile(path):
            return path
    return os.path.join("data", "tinyshakespeare", "input.txt")


def checked(path):
    """path, once its md5 is tiny Shakespeare's; read only, never written."""
    try:
        with open(path, "rb") as f:
            md5 = hashlib.md5(f.read()).hexdigest()
    except OSError as err:
        raise DataError(f"{path}: cannot be read ({err.strerror or err}): copy tiny Shakespeare's "
                        f"input.txt there, or give its path with --data-file") from None
    if md5 != MD5:
        raise DataError(f"{path} is damaged or not tiny Shakespeare (its md5 is {md5}, not "
                        f"{MD5}): restore it (git checkout -- data)")
    return path


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
        fig.savefig(part, dpi=100)
    plt.show()  # inline in a notebook, a window with a screen; nothing without one (Agg)
    plt.close(fig)


def draw(losses, curve, base, val_loss, surprise, held_text):
    """The losses against the baselines; a held-out passage coloured by each character's loss."""
    fig, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
    if losses:
        window = max(1, min(50, len(losses) // 10))  # a running mean: one window is noisy
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        ax.plot(np.arange(window, len(losses) + 1), smooth, color="tab:blue",
                label=f"training loss (mean of {window} windows)")
    steps, values = zip(*curve)
    ax.plot(steps, values, "o-", color="tab:red", label="held-out loss")
    styles = {"uniform": ":", "unigram": "--", "bigram": "-."}
    for key, value in base.items():
        ax.axhline(value, color="0.4", ls=styles[key], lw=1, label=f"{key} ({value:.2f})")
    ax.set(xlabel="training step", ylabel="nats per character", ylim=(1, 4.4),
           title=f"408: held-out loss {val_loss:.3f} nats = {val_loss / math.log(2):.3f} bits "
                 f"per character")
    ax.legend(loc="upper right", fontsize=8)
    save(fig, f"{NAME}.png")

    # The passage: one cell per character, its colour the loss the model paid for it.
    lines = [[]]
    for char, loss in zip(held_text, surprise):
        lines[-1].append((char, loss))
        if char == "\n" or len(lines[-1]) == 72:
            lines.append([])
    width = max(len(line) for line in lines)
    grid = np.full((len(lines), width), np.nan)
    for row, line in enumerate(lines):
        grid[row, :len(line)] = [loss for _, loss in line]
    fig, ax = plt.subplots(figsize=(min(11, 0.13 * width + 1.3), 0.24 * len(lines) + 0.8),
                           layout="constrained")  # at most 11 inches: a notebook's width
    image = ax.imshow(grid, cmap="Reds", vmin=0, vmax=6, aspect="auto", interpolation="nearest")
    for row, line in enumerate(lines):
        for col, (char, _) in enumerate(line):
            ax.text(col, row, "\u23ce" if char == "\n" else char, ha="center", va="center",
                    fontsize=9, family="monospace")
    ax.set_axis_off()
    fig.colorbar(image, ax=ax, pad=0.01, label="loss of the character, nats")
    ax.set_title("408: held-out text, each character coloured by the model's surprise")
    save(fig, f"{NAME}_surprise.png")


def constant_comments():
    """{NAME: the comment beside it in the parameters cell}, for --help: read from this file, or
    in a notebook (no file) from the cells the kernel has run."""
    path = globals().get("__file__")
    text = open(path, encoding="utf-8").read() if path else "\n".join(globals().get("In", []))
    return dict(re.findall(r"^([A-Z][A-Z0-9_]*) = [^#\n]*#\s*(.+)$", text, re.MULTILINE))


def parse_flags(argv=None):
    """Every UPPER_CASE constant above is a flag (STEPS: --steps) with its value as the default;
    the flags given set their constants. Numbers must be more than 0 (0 too where the default
    is 0), but SEED is any whole number. Then --device, --save, --load and --no-plot."""
    parser = argparse.ArgumentParser(prog=f"{NAME}.py", description="408 - a character-level "
                                     "language model on tiny Shakespeare.")
    constants = {key: value for key, value in globals().items()
                 if key.isupper() and key not in ("NAME", "MD5", "PASSAGE")
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
    parser.add_argument("--save", metavar="PATH", help="write the trained model's state_dict here")
    parser.add_argument("--load", metavar="PATH", help="a state_dict saved by --save: no "
                        "training; measure it on the held-out text and sample from it")
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
    if not args.PROMPT:
        parser.error("--prompt: give at least one character")
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


def load_model(path, device):
    """The CharLSTM saved at path by --save, its sizes read from the weights."""
    try:
        weights = torch.load(path, map_location=device, weights_only=True)
        vocab_size, embed_size = weights["embed.weight"].shape
        model = CharLSTM(vocab_size, embed_size, weights["lstm.weight_hh_l0"].shape[1])
        model.load_state_dict(weights)
    except Exception as err:
        raise DataError(f"--load {path}: not a state_dict saved by this lesson "
                        f"({type(err).__name__})") from None
    return model.to(device)


def one_line(text):
    return text.replace("\n", " / ")


def main(argv=None):
    args = parse_flags(argv)
    try:
        start = time.perf_counter()
        torch.manual_seed(SEED)
        text, vocab, ids = load_text(checked(DATA_FILE or find_data_file()))
        unknown = sorted(set(PROMPT) - set(vocab))
        if unknown:
            raise DataError(f"--prompt {PROMPT!r}: {''.join(unknown)!r} is not in the text's "
                            f"vocabulary of {len(vocab)} characters")
        train_ids, held_ids = split(ids)
        base = baseline_losses(train_ids, held_ids, len(vocab))
        if args.load:
            model = load_model(args.load, args.device)
            if model.out.out_features != len(vocab):
                raise DataError(f"--load {args.load}: made for {model.out.out_features} "
                                f"characters, not {len(vocab)}")
            print(f"loaded: {args.load}; no training")
        else:
            model = CharLSTM(len(vocab), EMBED_SIZE, HIDDEN_SIZE).to(args.device)

        def header():  # after train()'s first line, "training: ...", which the tests wait for
            print(f"vocabulary: {len(vocab)} characters; {len(train_ids):,} for training, "
                  f"{len(held_ids):,} held out")
            print("baselines on the held-out text, nats per character: " +
                  ", ".join(f"{key} {value:.3f}" for key, value in base.items()))
            print(model)

        def report(step, loss):  # the loss so far, the held-out loss and a short sample
            if step == 0:
                header()
            held.append(evaluate(model, held_ids))  # (mean loss, loss of every character)
            val = held[-1][0]
            curve.append((step, val))
            print(f"step {step:5}/{STEPS}  " + (f"loss {loss:.3f}  " if loss else "") +
                  f"held-out {val:.3f}  {time.perf_counter() - start:5.1f} s")
            print("   " + one_line(sample(model, vocab, PROMPT, 70, TEMPERATURE, SEED)))

        curve, losses, held = [], [], []
        if args.load:
            header()
            held.append(evaluate(model, held_ids))
            curve.append((0, held[-1][0]))
        else:  # report() scores the held-out text at the last step too
            losses = train(model, train_ids, STEPS, LR, BATCH_SIZE, SEQ_LEN, SAMPLE_EVERY, report)
        val_loss, surprise = held[-1]
        written = sample(model, vocab, PROMPT, LENGTH, TEMPERATURE, SEED)
        print(f"\nsample, temperature {TEMPERATURE}:\n{written}\n")
        greedy = sample(model, vocab, PROMPT, 2000, 0)
        period, begins = cycle_of(greedy[len(PROMPT):])
        print(f"greedy (temperature 0): {one_line(greedy[:len(PROMPT) + 160])}...")
        print(f"greedy: repeats a cycle of {period} characters from character {begins} on: "
              f"{greedy[len(PROMPT) + begins:][:period]!r}" if period else
              "greedy: no cycle in 2,000 characters")
        wall_s = time.perf_counter() - start
        if args.save:
            with written_whole(args.save) as part:
                torch.save(model.state_dict(), part)
            print(f"saved: {args.save}")
        if not args.no_plot:
            # Stream 0 of the held-out text from its 4th character, the first speaker's name;
            # surprise[0, j] is the loss of held_ids[j + 1].
            draw(losses, curve, base, val_loss, surprise[0, 2:2 + PASSAGE].numpy(),
                 "".join(vocab[i] for i in held_ids[3:3 + PASSAGE].tolist()))
            print(f"figures: {os.path.join(OUT, NAME)}.png, _surprise.png")
    except DataError as err:
        print(f"{NAME}.py: error: {err}", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt as stop:  # Ctrl-C: one line, and the shell's exit status for it
        print(" ".join(["interrupted", *stop.args]), file=sys.stderr)
        raise SystemExit(130) from None  # from None: a notebook shows no chained traceback
    print(f"final: val_loss={val_loss:.4f} val_bpc={val_loss / math.log(2):.4f} "
          f"wall_s={wall_s:.2f}")
    return val_loss


# %% [markdown]
# ## Run it
#
# From a terminal: `python 408_char_rnn.py` (flags as above). To keep the model and sample from
# it later without training: `python 408_char_rnn.py --save m.pt`, then
# `python 408_char_rnn.py --load m.pt --prompt "JULIET:" --temperature 0.5`. In a notebook, the
# next cell runs the lesson with the constants of the parameters cell;
# `%run ../408_char_rnn.py --steps 100` runs the file with flags instead (from `notebooks/`;
# `../../` from `notebooks/zh/`).

# %%
if __name__ == "__main__":
    main()

# %% [markdown]
# ## Reading the results
#
# The last line, `final: val_loss=1.5575 val_bpc=2.2470 wall_s=...` with the defaults, is the
# held-out cross-entropy in nats per character, then in bits per character. Against the
# baselines printed at the start, on the held-out text:
#
# | model | nats per character | bits per character |
# |---|---:|---:|
# | uniform (ln 65) | 4.174 | 6.022 |
# | unigram | 3.347 | 4.829 |
# | bigram, add-one | 2.482 | 3.581 |
# | this LSTM, 800 steps | 1.5575 | 2.2470 |
#
# The bigram knows only the character before; the LSTM's state carries the word, the line and
# the speech so far, and that is worth 0.92 nats per character more. Its perplexity, exp(1.5575)
# = 4.75, says it is as unsure as a choice among about 5 characters, where the uniform model
# chooses among 65. For scale, on the same file and split but scored in short windows that each
# start from nothing (this model, so scored in windows of 64, gives 1.66): nanoGPT's
# `shakespeare_char` recipe for a CPU (a 4-layer transformer, 0.8M parameters, 2,000 iterations)
# reached about 1.89 after 283 s on a 2-core AMD EPYC; its GPU recipe reports a best of 1.47
# after about 3 minutes on an A100.
#
# - **`408_char_rnn.png`:** the training loss (blue, a running mean) and the held-out loss (red)
#   fall through the three baselines. Over the last 200 steps the training loss averaged 1.378,
#   against 1.557 held out; the last 10 % of the training text, scored as the held-out text is,
#   gives 1.375. Read about 2.5 times in 800 steps, the training text is fitted better than
#   text never seen.
# - **The samples** (` / ` stands for a line break). Before training (step 0) they are noise:
#   `Cuw;suqW / .&TTNUuuOgl,O,cKIvjeXLZ&Kf`. After 200 steps there are words and line breaks:
#   `Thou shall with a virtue caus in my i`; after 800, a speech with speakers' names in
#   capitals, most words English, the sense missing. The samples in training all use the same
#   seed, so each draws the same random numbers: the text changes only because the model did.
# - **`408_char_rnn_surprise.png`:** each held-out character coloured by its loss, -ln p. Over the
#   whole held-out text, a character after a space (mostly a word's first letter) costs 2.90
#   nats on average, a character after a letter 1.33: once a word has begun, the rest of it is
#   nearly settled. The first letter of a speaker's name, after a blank line, costs 2.95.
#
# **Greedy decoding falls into a loop.** Always taking the likeliest character, the model writes
# `I will be so stand the sense the seast` and from character 29 on repeats the same 50
# characters to the end of its 2,000 (`the seast / That thou art the state to the seast to`).
# With seeds 2 and 3 the cycle is 9 and 117 characters long. Greedy decoding draws nothing at
# random: once it has settled into a cycle, nothing pushes it out.

# %% [markdown]
# ## Things to try
#
# What each gave here (seed 1, one thread):
#
# - A bigger model for longer, `--hidden-size 512 --lr 0.005 --steps 1000`: `val_loss=1.4846`
#   (2.142 bits per character), in 358 CPU seconds, about 4 times the default's 92.
# - The temperature, without training again: `python 408_char_rnn.py --save m.pt`, then
#   `--load m.pt --temperature 0.5`: safe and repetitive (`That shall we are a friends, and my
#   lord`); `--temperature 1.2`: invented words (`motirations`, `gratoof`).
# - `--seed 2`: after `ROMEO:` the greedy line writes `NgDOVVUN` before it finds its feet. Sampling
#   starts from a zero state, which training met only at the start of each pass over the text.
#   A prompt that begins as speeches do, after a blank line (`--prompt $'\n\nROMEO:'` in bash),
#   gives a newline first, as the text would.
# - `torch.backends.mkldnn.enabled = False` before training: a step took 0.122 CPU seconds
#   instead of 0.096. On a CPU, `nn.LSTM` runs each layer over a whole window in one call of
#   oneDNN's fused LSTM kernel (`aten::mkldnn_rnn_layer` in the profiler), which PyTorch's
#   `use_mkldnn` in `aten/src/ATen/native/RNN.cpp` picks for float32 CPU tensors.

# %% [markdown]
# ## Measured on
#
# AMD EPYC, 2 cores (`lscpu`), torch 2.14.1, `OMP_NUM_THREADS=1`, other programs running: CPU
# seconds are user + system time of the whole process.
#
# | seed | val_loss | val_bpc | greedy cycle (starts at) | CPU s |
# |---:|---:|---:|---:|---:|
# | 1 | 1.5575 | 2.2470 | 50 (29) | 92 |
# | 2 | 1.5604 | 2.2512 | 9 (70) | 94 |
# | 3 | 1.5689 | 2.2635 | 117 (0) | 91 |
# | 1, 512 units, 1000 steps | 1.4846 | 2.1418 | 100 (0) | 358 |
#
# The held-out text read as 16 streams (the default) or as one: 1.5575 and 1.5563. With
# PyTorch's default two threads on the idle machine, a whole default run took 57 s (1.5575).
