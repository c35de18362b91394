"""405: the three cells and their initialisation, the gradient measure on cases with a known
answer and against backpropagation by hand, what the lesson promises at initialisation, the
clipping Adam sees, what a short training does to the gates and to W_hh, a short run, bad flags."""
import math

import pytest
import torch

from conftest import ROOT, error_of, final_values, load

SCRIPT = "405_why_gates.py"


@pytest.fixture(scope="module")
def m():
    return load(SCRIPT)


@pytest.fixture(scope="module")
def mnist(m):
    """train_x, train_y, test_x, test_y: the shipped MNIST."""
    return m.load_mnist(str(ROOT / "mnist"))


@pytest.fixture(scope="module")
def test_images(m, mnist):
    """The first 200 test images, as the network reads them, and their labels."""
    return m.to_input(mnist[2][:200]), mnist[3][:200]


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_shapes(m, cell):
    torch.manual_seed(0)
    model = m.Classifier(hidden_size=16, cell=cell)
    x, labels = torch.randn(5, 28, 28), torch.randint(0, 10, (5,))
    assert model(x).shape == (5, 10)
    grads = m.gradient_by_row(model, x, labels)
    assert sorted(grads) == (["c", "h"] if cell == "lstm" else ["h"])
    assert grads["h"].shape == (5, 28) and torch.allclose(grads["h"][:, -1], torch.ones(5))
    if cell == "lstm":
        assert grads["c"].shape == (5, 27)  # c_28 reaches the loss only through h_28
    assert m.keep_factor(model, x).shape == (5, 28, 16)


@pytest.mark.parametrize("cell, gates", [("lstm", 4), ("gru", 3), ("rnn", 1)])
def test_each_cell_gets_its_initialisation(m, cell, gates):
    torch.manual_seed(0)
    model = m.Classifier(hidden_size=16, cell=cell)
    assert isinstance(model.rnn, m.CELLS[cell]) and model.rnn.weight_hh_l0.shape == (gates * 16, 16)
    for gate in range(gates):  # orthogonal recurrent weights, gate by gate
        w = model.rnn.weight_hh_l0[gate * 16:(gate + 1) * 16]
        assert torch.allclose(w @ w.T, torch.eye(16), atol=1e-5)
    keep = model.rnn.bias_ih_l0[16:32] + model.rnn.bias_hh_l0[16:32]  # LSTM's f, GRU's z
    assert torch.equal(keep, torch.ones(16)) == (cell != "rnn")


def test_gradient_through_a_plain_rnn_shrinks_by_its_scale_each_row(m):
    """W_ih = 0 and no biases: h stays 0, tanh' = 1, and going back one row multiplies the
    gradient by W_hhᵀ = 0.8 Q (Q orthogonal): the gradient at h_t is 0.8^(28 - t) of h_28's."""
    torch.manual_seed(0)
    model = m.Classifier(hidden_size=16, cell="rnn")
    with torch.no_grad():
        model.rnn.weight_ih_l0.zero_()
        model.rnn.bias_ih_l0.zero_()
        model.rnn.bias_hh_l0.zero_()
        model.rnn.weight_hh_l0.mul_(0.8)  # orthogonal, times 0.8
    grads = m.gradient_by_row(model, torch.randn(4, 28, 28), torch.arange(4))
    expected = 0.8 ** torch.arange(27, -1, -1.0)  # rows 1..28
    assert torch.allclose(grads["h"], expected.expand(4, 28), rtol=1e-4)


def test_gradient_along_the_lstm_cell_state_shrinks_by_f_each_row(m):
    """All weights 0, all biases 0 but f's (1): i = o = 0.5, g = 0, so c and h stay 0. Going back
    one row along c multiplies the gradient by f = σ(1), and nothing else reaches c_t or h_t:
    d loss / d c_t is o σ(1)^(28 - t) of d loss / d h_28, and d loss / d h_t is 0 before row 28."""
    torch.manual_seed(0)
    model = m.Classifier(hidden_size=16, cell="lstm")
    with torch.no_grad():
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_hh_l0"):
            getattr(model.rnn, name).zero_()
        model.rnn.bias_ih_l0.zero_()
        model.rnn.bias_ih_l0[16:32] = 1.0  # the forget gate's block
    grads = m.gradient_by_row(model, torch.randn(4, 28, 28), torch.arange(4))
    f = torch.sigmoid(torch.tensor(1.0))
    expected = 0.5 * f ** torch.arange(27, 0, -1.0)  # rows 1..27
    assert torch.allclose(grads["c"], expected.expand(4, 27), rtol=1e-4)
    assert torch.equal(grads["h"][:, :27], torch.zeros(4, 27))
    assert torch.allclose(m.keep_factor(model, torch.randn(4, 28, 28)), f.expand(4, 28, 16))


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_keep_factor_is_f_z_or_tanh_prime(m, cell):
    torch.manual_seed(0)
    model = m.Classifier(hidden_size=8, cell=cell)
    x = torch.randn(3, 28, 28)
    r_out, _ = model.rnn(x)
    h_before = torch.cat([torch.zeros(3, 1, 8), r_out[:, :-1]], dim=1)
    gates = (x @ model.rnn.weight_ih_l0.T + model.rnn.bias_ih_l0
             + h_before @ model.rnn.weight_hh_l0.T + model.rnn.bias_hh_l0)
    expected = {"lstm": lambda: torch.sigmoid(gates.chunk(4, dim=2)[1]),  # i, f, g, o
                "gru": lambda: torch.sigmoid(gates.chunk(3, dim=2)[1]),   # r, z, n
                "rnn": lambda: 1 - torch.tanh(gates) ** 2}[cell]()
    assert torch.allclose(m.keep_factor(model, x), expected, atol=1e-6)


def test_the_layer_stepped_row_by_row_is_the_layer(m):
    """gradient_by_row runs the layer one row at a time: the loss it differentiates must be the
    model's own."""
    for cell in ("rnn", "gru", "lstm"):
        torch.manual_seed(0)
        model = m.Classifier(hidden_size=8, cell=cell)
        x = torch.randn(3, 28, 28)
        state = None
        for t in range(28):
            _, state = model.rnn(x[:, t:t + 1], state)
        h = state[0] if isinstance(state, tuple) else state
        assert torch.allclose(model.out(h[0]), model(x), atol=1e-6), cell


def test_gradient_by_row_is_backpropagation_through_time_done_by_hand(m):
    """A plain RNN as it starts, gradient carried back by hand: d loss / d h_28 = (softmax - one
    hot) W_out, then one row back multiplies by diag(1 - h_t²), then W_hh."""
    torch.manual_seed(0)
    model = m.Classifier(hidden_size=8, cell="rnn")
    x, labels = torch.randn(3, 28, 28), torch.tensor([1, 2, 3])
    with torch.no_grad():
        r_out, _ = model.rnn(x)  # (3, 28, 8): h_1 ... h_28
        probs = torch.softmax(model.out(r_out[:, -1]), dim=1)
        grad = (probs - torch.nn.functional.one_hot(labels, 10)) @ model.out.weight  # h_28's
        norms = [grad.norm(dim=1)]
        for t in range(27, 0, -1):  # from d loss / d h_(t+1) to d loss / d h_t, rows 28..2
            grad = (grad * (1 - r_out[:, t] ** 2)) @ model.rnn.weight_hh_l0
            norms.insert(0, grad.norm(dim=1))
    expected = torch.stack(norms, dim=1) / norms[-1][:, None]  # (3, 28)
    assert torch.allclose(m.gradient_by_row(model, x, labels)["h"], expected, rtol=1e-4)


def test_at_initialisation_the_lstm_passes_more_back_and_its_forget_bias_matters(m, test_images):
    """What the lesson promises, on 200 test images with seed 1: at initialisation row 1 gets a
    larger share of the gradient in the LSTM than in the plain RNN, at h and more at c; with f's
    bias at 0 instead of 1 (and the GRU's z's) far less arrives, far less than in the RNN."""
    x, labels = test_images
    share = {}
    for cell in ("rnn", "gru", "lstm", "gru, bias 0", "lstm, bias 0"):
        torch.manual_seed(1)
        model = m.Classifier(cell=cell.split(",")[0])
        if cell.endswith("bias 0"):
            with torch.no_grad():
                model.rnn.bias_ih_l0[64:128] = 0.0
        grads = m.gradient_by_row(model, x, labels)
        assert all(torch.isfinite(g).all() and (g > 0).all() for g in grads.values())
        for key, g in grads.items():
            share[f"{cell} {key}"] = g[:, 0].median().item()
    assert share["lstm h"] > 1.3 * share["rnn h"], share
    assert share["lstm c"] > 2 * share["rnn h"], share
    assert share["lstm c"] > 10 * share["lstm, bias 0 c"], share
    assert share["gru h"] > 10 * share["gru, bias 0 h"], share
    assert share["rnn h"] > 10 * max(share["lstm, bias 0 c"], share["gru, bias 0 h"]), share


def test_train_clips_the_gradient_adam_uses_and_keeps_the_norm_from_before(m, monkeypatch):
    """Each step Adam gets the gradient scaled down to norm CLIP, and train returns the norm from
    before clipping."""
    seen = []  # the gradient norm each optimizer step uses

    class Adam(torch.optim.Adam):
        def step(self, closure=None):
            grads = [p.grad for group in self.param_groups for p in group["params"]]
            seen.append(torch.stack([g.norm() for g in grads]).norm())
            return super().step(closure)

    monkeypatch.setattr(torch.optim, "Adam", Adam)
    monkeypatch.setattr(m, "CLIP", 0.01)
    torch.manual_seed(0)
    images = torch.randint(0, 256, (64, 28, 28), dtype=torch.uint8)
    labels = torch.randint(0, 10, (64,))
    lines = []
    accuracy, norms = m.train(m.Classifier(hidden_size=8, cell="rnn"),
                              (images, labels, images[:32], labels[:32]), epochs=1,
                              batch_size=16, max_steps=3, log=lines.append)
    assert norms.shape == (3,) and (norms > 0.1).all(), norms  # not the clipped 0.01
    assert torch.allclose(torch.stack(seen), torch.full((3,), 0.01), rtol=1e-3), seen
    assert 0 <= accuracy <= 1 and lines[0].startswith("training: 3 steps")


def test_a_short_training_learns_and_spreads_the_lstms_forget_gates(m, mnist):
    """300 steps on 20,000 training images, scored on 1,000 test images: the LSTM learns (0.93 on
    seed 1, against 0.1 for guessing), and its f spreads, as the lesson says of the full run: a
    few percent of the values above 0.99, none at the start, while the least-open unit closes."""
    train_x, train_y, test_x, test_y = mnist
    x = m.to_input(test_x[:200])
    torch.manual_seed(1)
    model = m.Classifier(cell="lstm")
    before = m.keep_factor(model, x)
    accuracy, _ = m.train(model, (train_x[:20000], train_y[:20000], test_x[:1000], test_y[:1000]),
                          epochs=1, batch_size=64, max_steps=300, log=lambda line: None)
    after = m.keep_factor(model, x)
    assert accuracy > 0.85, accuracy
    assert (before > 0.99).float().mean() < 0.001 < 0.01 < (after > 0.99).float().mean()
    assert before.mean(dim=(0, 1)).min() > 0.6 > 0.5 > after.mean(dim=(0, 1)).min()


def test_a_short_training_flattens_the_rnns_tanh_and_stretches_its_w_hh(m, mnist):
    """The same short run for the plain RNN (0.79 on seed 1): its slope 1 - h_t² falls from
    0.80 on average, and W_hh's largest singular value grows from 1."""
    train_x, train_y, test_x, test_y = mnist
    x = m.to_input(test_x[:200])
    torch.manual_seed(1)
    model = m.Classifier(cell="rnn")
    before = m.keep_factor(model, x)
    accuracy, _ = m.train(model, (train_x[:20000], train_y[:20000], test_x[:1000], test_y[:1000]),
                          epochs=1, batch_size=64, max_steps=300, log=lambda line: None)
    assert accuracy > 0.6, accuracy
    assert before.mean() > 0.75 > 0.5 > m.keep_factor(model, x).mean()
    assert m.singular_values(model.rnn)[0][0] > 2


def test_a_short_run_prints_the_model_and_the_final_line_and_draws(m, tmp_path, capsys,
                                                                    monkeypatch):
    measured = []
    measure = m.gradient_by_row
    monkeypatch.setattr(m, "gradient_by_row", lambda *a: measured.append(measure(*a)) or
                        measured[-1])
    accuracy, share = m.main(["--cell", "lstm", "--max-steps", "5", "--hidden-size", "16",
                              "--measured", "100", "--out", str(tmp_path)])
    assert len(measured) == 4  # the three cells at initialisation, then CELL trained
    assert share == pytest.approx(measured[-1]["h"][:, 0].median().item())  # the median image
    out = capsys.readouterr().out
    assert "LSTM(28, 16, batch_first=True)" in out and "training: 5 steps" in out
    assert out.count(" loss ") >= 3
    values = final_values(out)
    assert values["test_accuracy"] == accuracy and 0 <= accuracy <= 1
    assert math.isclose(values["row1_share"], share, rel_tol=1e-2) and share > 0
    assert values["wall_s"] > 0
    for ending in (".png", "_exploding.png", "_keep.png"):
        assert (tmp_path / f"405_why_gates{ending}").stat().st_size > 1000


@pytest.mark.parametrize("argv, line", [
    (["--cell", "cnn"], "405_why_gates.py: error: --cell cnn: must be one of rnn, gru, lstm"),
    (["--measured", "20000"], "405_why_gates.py: error: --measured: the test set has 10000 "
                              "images, got 20000"),
    (["--epochs", "0"], "405_why_gates.py: error: --epochs: must be more than 0, got 0"),
])
def test_a_bad_flag_is_one_clear_line(m, argv, line, capsys):
    err = error_of(m.main, argv + ["--no-plot"], capsys).strip().splitlines()
    assert err[-1] == line
