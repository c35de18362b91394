"""The flags every lesson shares: each constant of the parameters cell is one, and --device."""
import math
import re

import jupytext
import pytest
import torch

from conftest import LESSONS, ROOT, error_of, load



def parameters_cell(script):
    """{NAME: its comment} for each constant of the cell tagged parameters."""
    cells = [c for c in jupytext.read(ROOT / script).cells
             if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, "one cell tagged parameters"
    return dict(re.findall(r"^([A-Z][A-Z0-9_]*) = [^#\n]*#\s*(.+)$", cells[0].source,
                           re.MULTILINE))


@pytest.mark.parametrize("script", LESSONS)
def test_every_constant_of_the_parameters_cell_is_a_flag(script, capsys):
    m = load(script)
    names = parameters_cell(script)
    assert len(names) >= 6
    with pytest.raises(SystemExit) as exit_info:
        m.main(["--help"])
    assert exit_info.value.code == 0
    shown = re.sub(r"\s+", " ", capsys.readouterr().out)  # argparse wraps long lines
    for name, comment in names.items():  # each flag's help is its constant's comment
        flag = "--" + name.lower().replace("_", "-")
        default = getattr(m, name)
        usage = f"{flag}, --no-{flag[2:]}" if isinstance(default, bool) else f"{flag} {name}"
        said = re.sub(r"\s+", " ", comment.strip())
        assert f"{usage} {said} (default: {default!r})" in shown, flag


@pytest.mark.parametrize("script", LESSONS)
def test_a_flag_sets_its_constant_typed_from_the_default(script):
    m = load(script)
    args = m.parse_flags(["--hidden-size", "7", "--lr", "0.5", "--seed", "-3", "--no-plot"])
    assert m.HIDDEN_SIZE == 7 and isinstance(m.HIDDEN_SIZE, int)
    assert m.LR == 0.5 and isinstance(m.LR, float)
    assert m.SEED == -3  # any whole number
    assert args.device in ("cpu", "cuda", "mps", "xpu")


@pytest.mark.parametrize("script", LESSONS)
@pytest.mark.parametrize("argv, says", [
    (["--hidden-size", "1.5"], "invalid int value"),
    (["--hidden-size", "-2"], "--hidden-size: must be more than 0"),
    (["--lr", "inf"], "--lr: must be more than 0"),
    (["--seed", "x"], "--seed"),
])
def test_a_bad_value_is_one_clear_error(script, argv, says, capsys):
    err = error_of(load(script).main, argv, capsys)
    assert says in err and err.strip().splitlines()[-1].startswith(f"{script}: error: ")


@pytest.mark.parametrize("script", LESSONS)
def test_a_constant_added_at_the_top_is_a_flag_with_no_other_edit(script, monkeypatch):
    m = load(script)
    monkeypatch.setattr(m, "DROPOUT", 0.0, raising=False)  # a default of 0: 0 is allowed
    m.parse_flags(["--no-plot"])
    assert m.DROPOUT == 0.0
    m.parse_flags(["--dropout", "0.25", "--no-plot"])
    assert m.DROPOUT == 0.25


@pytest.mark.parametrize("script", LESSONS)
def test_a_true_or_false_constant_is_a_pair_of_switches(script, monkeypatch, capsys):
    m = load(script)
    monkeypatch.setattr(m, "CARRY", True, raising=False)
    m.parse_flags(["--no-carry", "--no-plot"])
    assert m.CARRY is False  # not bool("False"), which is True
    m.parse_flags(["--carry", "--no-plot"])
    assert m.CARRY is True
    monkeypatch.setattr(m, "CARRY", False)
    m.parse_flags(["--no-plot"])
    assert m.CARRY is False
    with pytest.raises(SystemExit):
        m.main(["--help"])
    assert "--carry, --no-carry" in capsys.readouterr().out


@pytest.mark.parametrize("max_steps, steps", [(0, 6), (4, 4)])
def test_max_steps_zero_means_all_epochs(max_steps, steps):
    m = load("402_rnn_classifier.py")
    torch.manual_seed(0)
    images = torch.randint(0, 256, (300, 28, 28), dtype=torch.uint8)
    labels = torch.randint(0, 10, (300,))
    lines = []
    m.train(m.Classifier(hidden_size=8), (images, labels, images[:50], labels[:50]),
            epochs=2, batch_size=100, max_steps=max_steps, log=lines.append)
    assert lines[0].startswith(f"training: {steps} steps")  # 2 epochs of 3 batches, or fewer
    assert lines[-1].startswith(f"epoch {math.ceil(steps / 3)}/2  step {steps}/{steps}")


class FakeAccelerator:
    """torch.accelerator as it is on a machine with one accelerator of the given type."""
    def __init__(self, kind):
        self.kind = kind

    def is_available(self):
        return self.kind is not None

    def current_accelerator(self, check_available=False):
        return torch.device(self.kind) if self.kind else None


@pytest.mark.parametrize("script", LESSONS)
@pytest.mark.parametrize("kind", [None, "cuda", "mps", "xpu"])
def test_auto_takes_the_accelerator_pytorch_reports(script, kind, monkeypatch, capsys):
    m = load(script)
    monkeypatch.setattr(torch, "accelerator", FakeAccelerator(kind))
    assert m.parse_flags(["--no-plot"]).device == (kind or "cpu")
    assert m.parse_flags(["--device", "cpu", "--no-plot"]).device == "cpu"
    if kind:
        assert m.parse_flags(["--device", kind, "--no-plot"]).device == kind
    for absent in {"cuda", "mps", "xpu"} - {kind}:
        err = error_of(m.main, ["--device", absent, "--no-plot"], capsys).strip().splitlines()
        assert err[-1] == (f"{script}: error: --device {absent}: {absent.upper()} is not "
                           f"available on this machine (try --device auto)")
