"""406: padding in a collate_fn, packing, bidirectional outputs, the three errors, the run."""
import re

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

from conftest import DEVICES, ROOT, error_of, load

SCRIPT = "406_variable_lengths.py"


@pytest.fixture(scope="module")
def m():
    return load(SCRIPT)


@pytest.fixture(scope="module")
def mnist(m):
    return m.load_mnist(str(ROOT / "mnist"))


def digits_of_widths(widths, seed=0):
    """uint8 images whose ink fills columns 3 .. 3 + width - 1 (no blank column inside)."""
    torch.manual_seed(seed)
    images = torch.zeros(len(widths), 28, 28, dtype=torch.uint8)
    for n, width in enumerate(widths):
        images[n, 4:24, 3:3 + width] = torch.randint(1, 256, (20, width), dtype=torch.uint8)
    return images, torch.randint(0, 10, (len(widths),))


WIDTHS = [12, 20, 5, 17, 1, 9]


def test_each_digit_is_its_inked_columns_and_collate_pads_and_keeps_lengths(m):
    images, labels = digits_of_widths(WIDTHS)
    dataset = m.InkColumns(images, labels)
    sequence, label = dataset[0]
    assert sequence.shape == (12, 28) and sequence.dtype == torch.float32
    assert torch.equal(sequence, images[0, :, 3:15].T.float() / 255)  # column by column
    assert sequence.max() <= 1 and label == labels[0]
    x, lengths, y = m.collate([dataset[i] for i in range(len(WIDTHS))])
    assert x.shape == (6, 20, 28)  # (batch, the longest, 28 pixels)
    assert lengths.tolist() == WIDTHS and lengths.dtype == torch.int64
    assert lengths.device.type == "cpu" and torch.equal(y, labels)
    for n, length in enumerate(WIDTHS):
        assert torch.equal(x[n, :length], dataset[n][0])
        assert not x[n, length:].any()  # padding: blank columns, 0
    # and through a DataLoader, with collate as its collate_fn
    x2, lengths2, _ = next(iter(m.batches(dataset, batch_size=4)))
    assert x2.shape == (4, 20, 28) and lengths2.tolist() == WIDTHS[:4]


def test_widths_in_the_training_set_are_as_the_text_says(m, mnist):
    train_x, train_y, _, _ = mnist
    dataset = m.InkColumns(train_x, train_y)
    lengths = torch.tensor(dataset.end) - torch.tensor(dataset.start)
    assert (lengths.min().item(), lengths.max().item()) == (2, 20)
    assert round(lengths.float().mean().item(), 1) == 15.7
    by_digit = [lengths[train_y == d].float().mean().item() for d in range(10)]
    assert round(by_digit[1]) == 9 and round(by_digit[0]) == round(by_digit[2]) == 18
    assert len(dataset) - 468 * 128 == 96  # the last batch of an epoch


@pytest.mark.parametrize("bidirectional", [False, True])
def test_packed_reads_each_sequence_to_its_own_end(m, bidirectional):
    images, labels = digits_of_widths(WIDTHS)
    dataset = m.InkColumns(images, labels)
    x, lengths, _ = m.collate([dataset[i] for i in range(len(WIDTHS))])
    torch.manual_seed(0)
    model = m.Classifier(hidden_size=16, bidirectional=bidirectional)
    packed = model(x, lengths)
    unpacked = model(x)  # runs on through the padding
    for n, length in enumerate(WIDTHS):
        alone = model(dataset[n][0][None])[0]  # that sequence alone, no padding at all
        assert torch.allclose(packed[n], alone, atol=1e-5), n
        if length < 20:  # the padding changes the answer of every shorter sequence
            assert not torch.allclose(unpacked[n], alone, atol=1e-3), n
        else:
            assert torch.allclose(unpacked[n], alone, atol=1e-5), n


def test_r_out_last_is_h_n_unpacked_and_not_packed(m):
    images, labels = digits_of_widths(WIDTHS)
    dataset = m.InkColumns(images, labels)
    x, lengths, _ = m.collate([dataset[i] for i in range(len(WIDTHS))])
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(28, 8, batch_first=True)
    r_out, (h_n, _) = lstm(x)  # a padded batch fed whole: the same tensor, after the padding
    assert torch.equal(r_out[:, -1], h_n[-1])
    r_out, h_n = m.per_step_outputs(lstm, x, lengths)
    assert r_out.shape == (6, 20, 8)  # padded back to the longest
    for n, length in enumerate(WIDTHS):
        assert torch.equal(r_out[n, length - 1], h_n[-1, n])  # its own last step
        assert not r_out[n, length:].any()  # zeros after its end
    shorter = lengths < 20
    assert not r_out[shorter, -1].any() and not torch.allclose(r_out[:, -1], h_n[-1])
    r_out, _ = m.per_step_outputs(lstm, x, lengths, total_length=28)
    assert r_out.shape == (6, 28, 8) and not r_out[:, 20:].any()


def test_bidirectional_halves(m):
    images, labels = digits_of_widths(WIDTHS)
    dataset = m.InkColumns(images, labels)
    x, lengths, _ = m.collate([dataset[i] for i in range(len(WIDTHS))])
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(28, 8, batch_first=True, bidirectional=True)
    r_out, h_n = m.per_step_outputs(lstm, x, lengths)
    assert r_out.shape == (6, 20, 16) and h_n.shape == (2, 6, 8)
    for n, length in enumerate(WIDTHS):
        assert torch.allclose(r_out[n, length - 1, :8], h_n[-2, n])  # forward: at its end
        assert torch.allclose(r_out[n, 0, 8:], h_n[-1, n])  # backward: at step 0
        alone, (h_alone, _) = lstm(dataset[n][0][None])  # the same sequence, no padding
        assert torch.allclose(r_out[n, :length], alone[0], atol=1e-5)
        assert torch.allclose(h_n[:, n], h_alone[:, 0], atol=1e-5)
    assert not torch.allclose(r_out[:, -1, 8:], h_n[-1])  # r_out[:, -1] holds neither
    # the classifier reads both final states: the forward one at the end, the backward at step 0
    model = m.Classifier(hidden_size=8, bidirectional=True)
    r_out, _ = m.per_step_outputs(model.rnn, x, lengths)
    ends = torch.stack([torch.cat([r_out[n, length - 1, :8], r_out[n, 0, 8:]])
                        for n, length in enumerate(WIDTHS)])
    assert torch.allclose(model(x, lengths), model.out(ends), atol=1e-6)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_the_forget_gate_starts_with_b_ih_1_and_b_hh_0_as_in_402(m, bidirectional):
    torch.manual_seed(0)
    rnn = m.Classifier(hidden_size=8, bidirectional=bidirectional).rnn
    biases = dict(rnn.named_parameters())
    for suffix in ["_l0", "_l0_reverse"] if bidirectional else ["_l0"]:
        b_ih, b_hh = biases["bias_ih" + suffix], biases["bias_hh" + suffix]
        assert (b_ih[8:16] == 1).all() and (b_hh[8:16] == 0).all()  # f: the second block of 4
        assert b_ih[:8].abs().max() < 1 and b_hh[16:].any()  # the other gates keep PyTorch's


def test_evaluate_reads_three_ways(m):
    images, _ = digits_of_widths([20] + WIDTHS[2:] * 3, seed=1)
    torch.manual_seed(0)
    model = m.Classifier(hidden_size=16)
    with torch.no_grad():  # scores that follow h closely, so the readings disagree
        model.out.weight.normal_(0, 5)
    x, lengths, _ = m.collate(list(m.InkColumns(images, torch.zeros(len(images)))))
    alone = torch.stack([model(x[n:n + 1, :length])[0].argmax()  # each digit read alone
                         for n, length in enumerate(lengths.tolist())])
    unpacked = model(x).argmax(dim=1)
    assert (alone != unpacked).any()  # so that the two readings can be told apart
    cpu = torch.device("cpu")
    readings = m.evaluate(model, m.InkColumns(images, alone), cpu)  # labels: packed answers
    assert readings["h_n"] == 1.0
    assert readings["unpacked"] == pytest.approx((unpacked == alone).float().mean().item())
    readings = m.evaluate(model, m.InkColumns(images, unpacked), cpu)
    assert readings["unpacked"] == 1.0
    # r_out[:, -1] of the packed run: real for the one 20-step digit, zeros (the bias) for the rest
    biased = model.out.bias.argmax()
    expected = ((alone[0] == unpacked[0]).float() + (unpacked[1:] == biased).sum()) / len(alone)
    assert readings["r_out[:, -1]"] == pytest.approx(expected.item())


def test_a_few_steps_learn_and_reading_h_n_beats_reading_the_padding(m, mnist):
    train_x, train_y, test_x, test_y = mnist
    torch.manual_seed(1)
    model = m.Classifier()
    losses = m.train(model, m.InkColumns(train_x, train_y), torch.device("cpu"), max_steps=40,
                     log=lambda line: None)
    assert len(losses) == 40 and sum(losses[-5:]) < sum(losses[:5]) / 2
    readings = m.evaluate(model, m.InkColumns(test_x[:1000], test_y[:1000]), torch.device("cpu"))
    assert readings["h_n"] > 0.6, readings
    assert readings["h_n"] > readings["unpacked"] > readings["r_out[:, -1]"], readings


def prose(m):
    """The lesson's markdown text, lines joined."""
    text = (ROOT / SCRIPT).read_text(encoding="utf-8")
    return " ".join(line[2:] for line in text.splitlines() if line.startswith("# "))


def test_the_errors_occur_as_the_text_quotes_them_and_the_fixes_remove_them(m, mnist):
    images, labels = digits_of_widths(WIDTHS * 37 + WIDTHS[:2])  # 224 digits: 128 + 96
    dataset = m.InkColumns(images, labels)
    model = m.Classifier(hidden_size=64)
    shown = m.common_errors(model, dataset, torch.device("cpu"), batch_size=128)
    errors = [error for _, error, _ in shown]
    assert errors == [
        "RuntimeError: Expected hidden[0] size (1, 96, 64), got [1, 128, 64]",
        "RuntimeError: `lengths` array must be sorted in decreasing order when `enforce_sorted` "
        "is True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
        "pack_sequence to sidestep this requirement if you do not need ONNX exportability.",
        "RuntimeError: 'lengths' argument should be a 1D CPU int64 tensor, but got 1D meta Long "
        "tensor"]
    assert [fixed for _, _, fixed in shown] == [None, None, None]  # each fix runs
    text = re.sub(r"\s+", " ", prose(m))
    assert "Expected hidden[0] size (1, 96, 64), got [1, 128, 64]" in text
    assert "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True" \
        in text
    assert "'lengths' argument should be a 1D CPU int64 tensor, but got 1D cuda:0 Long tensor" \
        in text
    # A packed batch takes a state built for more rows in silence, as the text says.
    x, lengths, _ = m.collate([dataset[i] for i in range(96)])
    state = torch.zeros(1, 128, 64)
    model.rnn(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False),
              (state, state))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available on this machine")
def test_lengths_on_the_gpu_fail_with_the_message_the_text_quotes():
    x = torch.randn(2, 3, 28, device="cuda")
    with pytest.raises(RuntimeError, match=re.escape("should be a 1D CPU int64 tensor, but got "
                                                     "1D cuda:0 Long tensor")):
        pack_padded_sequence(x, torch.tensor([3, 2], device="cuda"), batch_first=True,
                             enforce_sorted=False)
    pack_padded_sequence(x, torch.tensor([3, 2]), batch_first=True, enforce_sorted=False)


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="no oneDNN in this build")
def test_unpacked_runs_onednn_and_packed_of_unequal_lengths_runs_step_by_step():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(28, 16, batch_first=True)
    x = torch.randn(4, 6, 28)

    def ops(lengths):
        inp = x if lengths is None else pack_padded_sequence(x, torch.tensor(lengths),
                                                             batch_first=True)
        with torch.profiler.profile() as prof:
            lstm(inp)[1][0].sum().backward()
        return [event.name for event in prof.events()]

    assert "aten::mkldnn_rnn_layer" in ops(None)
    assert "aten::mkldnn_rnn_layer" in ops([6, 6, 6, 6])  # equal lengths: oneDNN too
    unequal = ops([6, 5, 3, 2])
    assert "aten::mkldnn_rnn_layer" not in unequal and unequal.count("aten::sigmoid_") >= 6


def test_timings_measure_four_ways(m):
    images, labels = digits_of_widths(WIDTHS * 4)
    seconds = m.timings(m.Classifier(hidden_size=8), m.InkColumns(images, labels), batch_size=6,
                        count=2)
    assert list(seconds) == ["packed", "unpacked", "unpacked without oneDNN",
                             "unpacked, padded to 28"]
    assert all(value > 0 for value in seconds.values())
    assert torch.backends.mkldnn.enabled  # switched back on

    class StopsWithoutOneDNN(m.Classifier):  # as a Ctrl-C would, in the middle
        def forward(self, x, lengths=None):
            if not torch.backends.mkldnn.enabled:
                raise KeyboardInterrupt
            return super().forward(x, lengths)

    with pytest.raises(KeyboardInterrupt):
        m.timings(StopsWithoutOneDNN(hidden_size=8), m.InkColumns(images, labels), 6, 2)
    assert torch.backends.mkldnn.enabled  # switched back on all the same


@pytest.mark.parametrize("device", DEVICES)
def test_a_short_run_prints_its_final_line_and_draws(m, device, tmp_path, capsys):
    readings = m.main(["--max-steps", "5", "--out", str(tmp_path), "--device", device])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "Classifier(" and "LSTM(28, 64, batch_first=True)" in lines[1]
    assert lines[-1].startswith(f"final: test_accuracy={readings['h_n']:.4f} reading_padding=")
    assert [line for line in lines if line.startswith("error: ")][0].endswith(
        "Expected hidden[0] size (1, 96, 64), got [1, 128, 64]")
    speed = next(line for line in lines if line.startswith("speed: "))
    threads = torch.get_num_threads()
    assert f"({threads} thread{'' if threads == 1 else 's'}): packed " in speed
    for ending in (".png", "_readings.png", "_bidirectional.png"):
        assert (tmp_path / f"406_variable_lengths{ending}").stat().st_size > 1000


def test_the_final_line_says_which_reading_is_which_packed_or_not(m, monkeypatch):
    readings = {"h_n": 0.97, "unpacked": 0.88, "r_out[:, -1]": 0.3}
    assert m.final_line(readings, 1.5) == \
        "final: test_accuracy=0.9700 reading_padding=0.8800 wall_s=1.50"
    monkeypatch.setattr(m, "PACK", False)  # --no-pack: trained and read through the padding
    assert m.final_line(readings, 1.5) == \
        "final: test_accuracy=0.8800 reading_packed=0.9700 wall_s=1.50"


@pytest.mark.parametrize("argv, mentions", [
    (["--epochs", "0"], "--epochs"),
    (["--batch-size", "abc"], "--batch-size"),
    (["--hidden-size", "-2"], "--hidden-size"),
    (["--max-steps", "-5"], "--max-steps"),
    (["--device", "tpu"], "--device"),
] + ([] if torch.cuda.is_available() else [(["--device", "cuda"], "CUDA")]))
def test_bad_flag_is_one_clear_error(m, argv, mentions, capsys):
    err = error_of(m.main, argv + ["--no-plot"], capsys).strip().splitlines()
    assert err[-1].startswith("406_variable_lengths.py: error: ") and mentions in err[-1]
