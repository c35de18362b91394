"""408: the streams, the carried and detached state, the held-out split, the baselines, sampling,
save and load, bad input. Tiny models and a few steps: the whole file runs in seconds."""
import hashlib
import math
import shutil

import pytest
import torch

from conftest import ROOT, error_of, final_values, load

SCRIPT = "408_char_rnn.py"
SHIPPED = ROOT / "data" / "tinyshakespeare" / "input.txt"
TINY = ["--hidden-size", "32", "--embed-size", "16", "--batch-size", "8", "--seq-len", "20",
        "--steps", "3", "--sample-every", "3", "--length", "20", "--no-plot"]


def md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module", autouse=True)
def shipped_text_unchanged():
    """Whatever the tests do, the shipped input.txt stays as it is."""
    assert md5(SHIPPED) == "6fb458f1232090904fb40fe944165e91"
    yield
    assert md5(SHIPPED) == "6fb458f1232090904fb40fe944165e91"


def test_vocabulary_and_split():
    m = load(SCRIPT)
    text, vocab, ids = m.load_text(SHIPPED)
    assert vocab == sorted(set(text)) and len(vocab) == 65
    assert "".join(vocab[i] for i in ids[:200].tolist()) == text[:200]
    train_ids, held_ids = m.split(ids)
    assert len(train_ids) == 1003854 and len(held_ids) == 111540
    assert torch.equal(torch.cat([train_ids, held_ids]), ids)


def test_streams_one_per_row_continue_from_window_to_window():
    """Each row is one stream of the text: window k + 1 of row i starts where window k of row i
    stopped, targets are the inputs moved on by one, and a pass starts again from the top."""
    m = load(SCRIPT)
    ids = torch.arange(1001)  # each position is its own id: what was read is plain to see
    windows = m.batches(ids, batch_size=4, seq_len=10)
    length = 1000 // 4  # characters per stream; 25 windows of 10 make one pass
    seen = [next(windows) for _ in range(30)]
    for k, (x, y, first) in enumerate(seen):
        assert x.shape == y.shape == (4, 10)
        assert torch.equal(y, x + 1)
        assert first == (k % 25 == 0)
        assert torch.equal(x[:, 0], torch.arange(4) * length + (k % 25) * 10)
        if k % 25:
            assert torch.equal(x[:, 0], seen[k - 1][0][:, -1] + 1)  # row i goes on in row i
    read = torch.cat([x.flatten() for x, _, _ in seen[:25]])
    assert sorted(read.tolist()) == list(range(1000))  # one pass: every input once


class Spy(torch.nn.Module):
    """A CharLSTM that records the state each window is given and the state it returns."""

    def __init__(self, model):
        super().__init__()
        self.model, self.given, self.returned = model, [], []

    def forward(self, x, state=None):
        self.given.append(state)
        logits, out = self.model(x, state)
        self.returned.append(out)
        return logits, out


def test_state_is_carried_row_by_row_and_detached():
    m = load(SCRIPT)
    torch.manual_seed(0)
    spy = Spy(m.CharLSTM(vocab_size=50, embed_size=8, hidden_size=12))
    ids = torch.randint(0, 50, (8 * 30 + 1,))  # 8 streams of 30: three windows of 10 a pass
    m.train(spy, ids, steps=5, lr=0.01, batch_size=8, seq_len=10)
    assert spy.given[0] is None and spy.given[3] is None  # each pass starts from zeros
    for k in (1, 2, 4):
        h, c = spy.given[k]
        assert h.shape == c.shape == (1, 8, 12)  # (layers, batch: one row per stream, hidden)
        assert h.grad_fn is None and c.grad_fn is None and not h.requires_grad
        h_prev, c_prev = spy.returned[k - 1]
        assert torch.equal(h, h_prev) and torch.equal(c, c_prev)  # same numbers, same rows


def test_evaluate_carries_the_state_from_chunk_to_chunk():
    """Held-out text read in chunks with the state carried: the same losses as in one call."""
    m = load(SCRIPT)
    torch.manual_seed(0)
    model = m.CharLSTM(vocab_size=30, embed_size=8, hidden_size=16)
    held = torch.randint(0, 30, (203,))
    loss, each = m.evaluate(model, held, rows=2, chunk=7)
    whole, each_whole = m.evaluate(model, held, rows=2, chunk=10 ** 6)
    assert each.shape == (2, 100)  # rows, every character after a row's first
    assert torch.allclose(each, each_whole, atol=1e-5) and loss == pytest.approx(whole, abs=1e-6)
    logits, _ = model(held[:101].view(1, -1))  # row 0 by hand
    by_hand = torch.nn.functional.cross_entropy(logits[0, :-1], held[1:101], reduction="none")
    assert torch.allclose(each[0], by_hand, atol=1e-5)


def test_baselines_on_a_tiny_known_text():
    m = load(SCRIPT)
    train_ids, held_ids = torch.tensor([0, 0, 0, 1]), torch.tensor([0, 0, 1])  # "aaab", "aab"
    base = m.baseline_losses(train_ids, held_ids, vocab_size=2)
    # add-one counts: a 3+1, b 1+1; after a: a 2+1, b 1+1. Scored: the held-out "a", "b".
    assert base["uniform"] == pytest.approx(math.log(2))
    assert base["unigram"] == pytest.approx(-(math.log(4 / 6) + math.log(2 / 6)) / 2)
    assert base["bigram"] == pytest.approx(-(math.log(3 / 5) + math.log(2 / 5)) / 2)


def test_sampling_feeds_its_output_back_and_repeats_with_the_same_seed():
    m = load(SCRIPT)
    torch.manual_seed(0)
    model = m.CharLSTM(vocab_size=5, embed_size=4, hidden_size=8)
    for weight in model.parameters():  # large weights: what comes next depends on the history
        torch.nn.init.normal_(weight, std=1.5)
    vocab = list("abcde")
    text = m.sample(model, vocab, "ab", 40, 1.0, seed=3)
    assert len(text) == 42 and text.startswith("ab")
    assert text == m.sample(model, vocab, "ab", 40, 1.0, seed=3)
    assert text != m.sample(model, vocab, "ab", 40, 1.0, seed=4)
    greedy = m.sample(model, vocab, "ab", 30, 0)
    assert greedy == m.sample(model, vocab, "ab", 30, 1e-4, seed=5)  # temperature -> 0: argmax
    ids = torch.tensor([[vocab.index(ch) for ch in greedy]])
    with torch.no_grad():  # each character: the likeliest after all before it, read from zeros
        logits, _ = model(ids)
    assert [vocab[i] for i in logits[0, 1:-1].argmax(dim=1).tolist()] == list(greedy[2:])


def test_cycle_of_finds_the_period_and_where_it_starts():
    m = load(SCRIPT)
    assert m.cycle_of("hello" + "xyz" * 40) == (3, 5)
    assert m.cycle_of("ab" + "the sea, " * 30) == (9, 2)
    assert m.cycle_of("".join(chr(65 + i % 26) + chr(97 + i % 7) for i in range(60))) == (None,
                                                                                         None)


def test_a_short_run_beats_the_unigram_and_the_held_out_part_is_never_trained_on(
        monkeypatch, capsys):
    m = load(SCRIPT)
    read = {"batches": [], "evaluate": []}
    batches, evaluate = m.batches, m.evaluate

    def batches_seen(ids, *args, **kwargs):
        read["batches"].append(ids)
        return batches(ids, *args, **kwargs)

    def evaluate_seen(model, held_ids, *args, **kwargs):
        read["evaluate"].append(held_ids)
        return evaluate(model, held_ids, *args, **kwargs)

    monkeypatch.setattr(m, "batches", batches_seen)
    monkeypatch.setattr(m, "evaluate", evaluate_seen)
    argv = TINY + ["--hidden-size", "64", "--steps", "40", "--sample-every", "20"]
    val_loss = m.main(argv)
    out = capsys.readouterr().out
    _, _, ids = m.load_text(SHIPPED)
    assert len(read["batches"]) == 1 and torch.equal(read["batches"][0], ids[:1003854])
    assert read["evaluate"] and all(torch.equal(h, ids[1003854:]) for h in read["evaluate"])
    unigram = float(out.split("unigram ")[1].split(",")[0])
    assert unigram == pytest.approx(3.347, abs=1e-3)
    values = final_values(out)
    assert values["val_loss"] == pytest.approx(val_loss, abs=1e-4) and val_loss < unigram - 0.2
    assert values["val_bpc"] == pytest.approx(val_loss / math.log(2), abs=1e-3)
    assert out.count("CharLSTM(") == 1 and out.count("\nstep ") == 3  # model once; 0, 20, 40
    assert "greedy: repeats a cycle of" in out or "greedy: no cycle" in out


def test_save_then_load_gives_the_same_model_without_training(tmp_path, capsys):
    m = load(SCRIPT)
    path = tmp_path / "m.pt"
    trained = m.main(TINY + ["--save", str(path)])
    first = capsys.readouterr().out
    assert path.is_file() and not list(tmp_path.glob("*.part*"))
    loaded = m.main(TINY + ["--load", str(path), "--steps", "1000000"])  # no training at all
    second = capsys.readouterr().out
    assert "training:" not in second and "loaded: " in second
    assert loaded == pytest.approx(trained, abs=1e-6)
    sampled = lambda out: out.split("sample, temperature")[1].split("\ngreedy")[0]  # noqa: E731
    assert sampled(first) == sampled(second)


def test_save_to_a_folder_is_refused_before_any_training(tmp_path, capsys):
    m = load(SCRIPT)
    err = error_of(m.main, TINY + ["--save", str(tmp_path)], capsys)
    assert err.strip().splitlines()[-1].startswith(f"{SCRIPT}: error: --save {tmp_path}: is a "
                                                   f"folder")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("damage", ["missing", "changed"])
def test_a_missing_or_damaged_text_is_one_clear_line(damage, tmp_path, capsys):
    m = load(SCRIPT)
    path = tmp_path / "input.txt"
    if damage == "changed":
        shutil.copy(SHIPPED, path)
        data = bytearray(path.read_bytes())
        data[1000] ^= 1
        path.write_bytes(bytes(data))
    err = error_of(m.main, TINY + ["--data-file", str(path)], capsys)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{SCRIPT}: error: {path}")
    assert ("cannot be read" if damage == "missing" else "md5") in lines[0]
    assert "Traceback" not in err


def test_a_prompt_outside_the_vocabulary_is_one_clear_line(capsys):
    m = load(SCRIPT)
    err = error_of(m.main, TINY + ["--prompt", "ROMEO#"], capsys)
    assert err.strip().splitlines() == [f"{SCRIPT}: error: --prompt 'ROMEO#': '#' is not in the "
                                        f"text's vocabulary of 65 characters"]


@pytest.mark.parametrize("value", ["0", "-0.5"])
def test_a_temperature_of_zero_or_less_is_refused(value, capsys):
    m = load(SCRIPT)
    err = error_of(m.main, TINY + ["--temperature", value], capsys)
    assert err.strip().splitlines()[-1] == (f"{SCRIPT}: error: --temperature: must be more than "
                                            f"0, got {float(value)}")
