"""The Chinese notebooks: code from the scripts, text from notebooks/zh/*.md, the same numbers."""
import importlib.util

import jupytext
import nbformat
import pytest

from conftest import ROOT
from test_notebooks import LESSONS, images, printed, run_with_short_settings

spec = importlib.util.spec_from_file_location("build", ROOT / "notebooks" / "build.py")
build = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build)


def english_cells(script):
    return [c for c in jupytext.read(ROOT / script).cells if c.cell_type == "markdown"]


def chinese_notebook(script):
    return nbformat.read(ROOT / "notebooks" / "zh" / script.replace(".py", ".ipynb"),
                         as_version=4)


@pytest.mark.parametrize("script", LESSONS)
def test_every_english_cell_has_its_chinese_cell_and_no_more(script):
    keys = [build.key_of(c) for c in english_cells(script)]
    assert len(set(keys)) == len(keys), "each markdown cell starts with a line of its own"
    translated = build.translation(script)
    assert [k for k in keys if k not in translated] == [], "English cells with no translation"
    assert [k for k in translated if k not in keys] == [], "translations with no English cell"
    for key, text in translated.items():
        assert text.startswith("#") and not text.startswith(key), f"{key}: not translated"


@pytest.mark.parametrize("script", LESSONS)
def test_every_number_of_an_english_cell_is_in_its_chinese_cell(script):
    translated = build.translation(script)
    for cell in english_cells(script):
        missing = build.numbers(cell.source) - build.numbers(translated[build.key_of(cell)])
        assert not missing, f"{script}, {build.key_of(cell)!r}: {sorted(missing)} not in Chinese"


def test_a_changed_english_number_is_caught():
    cell = english_cells("401_rnn_regressor.py")[-1]
    chinese = build.translation("401_rnn_regressor.py")[build.key_of(cell)]
    assert "0.000060" in cell.source and not build.numbers(cell.source) - build.numbers(chinese)
    remeasured = cell.source.replace("0.000060", "0.000061")
    assert build.numbers(remeasured) - build.numbers(chinese) == {"0.000061"}


@pytest.mark.parametrize("script", LESSONS)
def test_chinese_notebook_has_the_scripts_code_and_the_translated_text(script):
    expected = build.notebook_of(script, "zh")
    committed = chinese_notebook(script)
    assert [(c.cell_type, c.source) for c in committed.cells] == \
        [(c.cell_type, c.source) for c in expected.cells], \
        f"notebooks/zh is out of date: run `python notebooks/build.py {script} zh`"
    english = jupytext.read(ROOT / script).cells
    assert [c.source for c in committed.cells if c.cell_type == "code"] == \
        [c.source for c in english if c.cell_type == "code"]
    folded = [c.metadata.get("jupyter", {}).get("source_hidden", False) for c in committed.cells]
    assert folded == [c.metadata.get("jupyter", {}).get("source_hidden", False) for c in english]


@pytest.mark.parametrize("script", LESSONS)
def test_committed_chinese_notebook_shows_its_results(script):
    outputs = [out for cell in chinese_notebook(script).cells if cell.cell_type == "code"
               for out in cell.outputs]
    assert "final: " in printed(outputs) and "image/png" in images(outputs)
    assert not [out for out in outputs if out.output_type == "error"]


def test_a_chinese_notebook_runs_in_a_kernel_and_finds_mnist_two_folders_up(tmp_path):
    """402 in Chinese, its kernel started in notebooks/zh/ as Jupyter starts it: with no DATA_DIR
    set, the lesson must find mnist/ two folders up, not download it."""
    (tmp_path / "mnist").symlink_to(ROOT / "mnist")
    here = tmp_path / "notebooks" / "zh"
    here.mkdir(parents=True)
    outputs = run_with_short_settings(chinese_notebook("402_rnn_classifier.py"),
                                      "402_rnn_classifier.py", here, settings="MAX_STEPS = 5")
    assert "final: test_accuracy=" in printed(outputs)
    assert not (here / "mnist").exists()  # nothing downloaded beside the notebook
