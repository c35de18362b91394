"""The notebooks: the same cells as their scripts, and they run in a real Jupyter kernel."""
import base64
import os
import subprocess

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

from conftest import LESSONS, ROOT

# A few steps of each, set in a cell put right after the parameters cell, as papermill would.
SHORT = {
    "401_rnn_regressor.py": "STEPS = 5",
    "402_rnn_classifier.py": f"MAX_STEPS = 5\nDATA_DIR = {str(ROOT / 'mnist')!r}",
    "403_lstm_sin_cos.py": "STEPS = 5",
    "404_rnn_next_step.py": "STEPS = 5",
    "405_why_gates.py": f"MAX_STEPS = 5\nDATA_DIR = {str(ROOT / 'mnist')!r}",
    "406_variable_lengths.py": f"MAX_STEPS = 5\nDATA_DIR = {str(ROOT / 'mnist')!r}",
    "407_truncated_bptt.py": "STEPS = 5",
    "408_char_rnn.py": "STEPS = 5",
}


def notebook(script):
    return nbformat.read(ROOT / "notebooks" / script.replace(".py", ".ipynb"), as_version=4)


def run_in_kernel(nb, cwd):
    """Run every cell in a fresh kernel (inline figures, as in Jupyter); return all outputs."""
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # the tests force Agg; a notebook uses the inline backend
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd)}}).execute(env=env)
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]


def printed(outputs):
    return "".join(out.get("text", "") for out in outputs if out.output_type == "stream")


def images(outputs):
    return [kind for out in outputs if out.output_type == "display_data"
            for kind in out.data if kind.startswith("image/")]


@pytest.mark.parametrize("script", LESSONS)
def test_notebook_has_the_cells_of_its_script(script):
    expected = jupytext.read(ROOT / script)
    committed = notebook(script)
    assert [(c.cell_type, c.source) for c in committed.cells] == \
        [(c.cell_type, c.source) for c in expected.cells], \
        f"notebooks/ is out of date: run `python notebooks/build.py {script}`"


@pytest.mark.parametrize("script", LESSONS)
def test_committed_notebook_shows_its_results(script):
    cells = notebook(script).cells
    outputs = [out for cell in cells if cell.cell_type == "code" for out in cell.outputs]
    assert "final: " in printed(outputs) and "image/png" in images(outputs)
    assert not [out for out in outputs if out.output_type == "error"]
    assert (ROOT / "notebooks" / script.replace(".py", ".ipynb")).stat().st_size < 1.5e6
    # HTML exports show a GIF only as an <img>, and JupyterLab opens the notebook unchanged
    gifs = [out for out in outputs if "image/gif" in out.get("data", {})]
    assert all(out.data["text/html"].startswith('<img src="data:image/gif;base64,') for out in gifs)
    assert notebook(script).metadata.kernelspec.display_name == "Python 3 (ipykernel)"


def run_with_short_settings(nb, script, cwd, settings=None):
    """Run a notebook in a kernel with SHORT[script] (or settings) put right after its parameters
    cell."""
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "one cell tagged parameters"
    nb.cells.insert(tagged[0] + 1, nbformat.v4.new_code_cell(settings or SHORT[script]))
    outputs = run_in_kernel(nb, cwd)
    assert not [out for cell in nb.cells if "raises-exception" not in cell.metadata.get("tags", [])
                for out in cell.get("outputs", []) if out.output_type == "error"]
    text = printed(outputs)
    assert "final: " in text and "training: 5 steps" in text  # the injected setting was used
    assert "image/png" in images(outputs)
    assert (cwd / "results" / f"{script[:-3]}.png").is_file()  # files written as well
    return outputs


# Each kernel costs seconds, so two: 401 in one, followed there by 403 pasted whole into one cell
# and 404 run with %run; 402 as its Chinese notebook, whose code cells are these notebooks' own
# (tests/test_chinese.py), from notebooks/zh/ as Jupyter would start it.
def test_401_notebook_then_a_whole_script_in_one_cell_then_flags(tmp_path):
    """The 401 notebook; then a learner pastes 403 into one cell (no __file__, the kernel's own
    argv) and sets a constant there; then %run with flags."""
    nb = notebook("401_rnn_regressor.py")
    pasted = (ROOT / "403_lstm_sin_cos.py").read_text().replace("\nSTEPS = 300 ", "\nSTEPS = 20 ")
    stopped = nbformat.v4.new_code_cell(  # 401 stopped, as by the notebook's stop button
        "def stopped(*args):\n    raise KeyboardInterrupt('at step 1 of 1')\n\n\n"
        "train = stopped\nmain(['--no-plot'])")
    stopped.metadata["tags"] = ["raises-exception"]  # nbclient lets this cell fail
    nb.cells += [stopped, nbformat.v4.new_code_cell(pasted),
                 nbformat.v4.new_code_cell(f"%run {ROOT / '404_rnn_next_step.py'} --steps 7 "
                                           f"--no-plot")]
    outputs = run_with_short_settings(nb, "401_rnn_regressor.py", tmp_path)
    assert "image/gif" in images(outputs)  # the training animation plays inline
    gif = next(out for out in outputs if "image/gif" in out.get("data", {}))
    assert gif.data["text/html"] == f'<img src="data:image/gif;base64,{gif.data["image/gif"]}">'
    pasted, with_flags = (printed(cell.outputs) for cell in nb.cells[-2:])
    assert "training: 20 steps" in pasted and "final: mse=" in pasted  # its constants
    assert sorted(images(nb.cells[-2].outputs)) == ["image/gif", "image/png", "image/png"]
    assert "training: 7 steps" in with_flags and "final: next_step_mse=" in with_flags
    # Stopped: its one line, then SystemExit(130), with no chained traceback for IPython to show.
    assert "interrupted at step 1 of 1" in printed(stopped.outputs).splitlines()
    errors = [(out.ename, out.evalue) for out in stopped.outputs if out.output_type == "error"]
    assert errors == [("SystemExit", "130")]


# One sitting, about 15 minutes: the four core lessons at most 1,200 words of prose and 120 lines
# of code shown unfolded; the deeper lessons from 405 on at most 1,800 words.
def one_sitting(script):
    """(words of prose, lines of code shown) that a lesson may have at most."""
    return (1200, 120) if script <= "404" else (1800, 180)


def code_lines(cell):
    return len(cell.source.strip("\n").splitlines())


def words_of_prose(script):
    return sum(len(c.source.split()) for c in jupytext.read(ROOT / script).cells
               if c.cell_type == "markdown")


@pytest.mark.parametrize("script", LESSONS)
def test_the_lesson_reads_in_one_sitting(script):
    most_words, _ = one_sitting(script)
    assert 300 < words_of_prose(script) <= most_words, words_of_prose(script)


@pytest.mark.parametrize("script", LESSONS)
def test_the_lesson_is_shown_and_the_plumbing_folded(script):
    cells = notebook(script).cells
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith(f"# {script[:3]} ")
    folded = [c for c in cells if c.metadata.get("jupyter", {}).get("source_hidden")]
    assert folded, "the plumbing is folded"
    for cell in folded:  # JupyterLab, Notebook 7 and VS Code fold it; Colab shows a form
        assert cell.metadata.get("cellView") == "form"
        assert cell.source.startswith("# @title ") and "def main(" in cell.source
        assert "hide-input" in cell.metadata.get("tags", [])  # Jupyter Book, nbconvert (README)
    shown = sum(code_lines(c) for c in cells if c.cell_type == "code" and c not in folded)
    assert shown <= one_sitting(script)[1], shown
    # The results follow the lesson: the cell that runs it comes right after the plumbing.
    run_it = 'if __name__ == "__main__":\n    main()'
    run = next(i for i, c in enumerate(cells) if c.source == run_it)
    assert cells[run - 2] is folded[-1] and cells[run - 1].source.startswith("## Run it")


def test_an_export_without_the_tagged_cells_shows_the_lesson_and_not_the_plumbing():
    """README's nbconvert command: the HTML has the lesson, its results, and no plumbing."""
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config({"TagRemovePreprocessor": {"remove_input_tags": ["hide-input"]}})
    script = "401_rnn_regressor.py"
    html, _ = HTMLExporter(config=config).from_notebook_node(notebook(script))
    # (highlighted code has a tag between `def` and a name: look for the names)
    assert "parse_flags" not in html and "constant_comments" not in html
    assert "rnn_by_hand" in html and "final: mse=" in html
    plain, _ = HTMLExporter().from_notebook_node(notebook(script))
    assert "parse_flags" in plain  # without the setting an export shows every cell


def png_width(data):
    raw = base64.b64decode(data)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(raw[16:20], "big")


@pytest.mark.parametrize("script", LESSONS)
def test_every_picture_fits_a_notebook_column(script):
    """11 inches at 100 dpi (and the margin a tight bounding box adds): shown at about full size
    in a 968-px output column, so its labels stay readable."""
    outputs = [out for cell in notebook(script).cells if cell.cell_type == "code"
               for out in cell.outputs]
    widths = [png_width(out.data["image/png"]) for out in outputs
              if "image/png" in out.get("data", {})]
    assert widths and max(widths) <= 1120, widths


def test_what_jupyter_writes_beside_a_notebook_is_ignored():
    found = subprocess.run(["git", "check-ignore", "notebooks/.ipynb_checkpoints/x.ipynb",
                            "notebooks/zh/.ipynb_checkpoints/x.ipynb"],
                           cwd=ROOT, capture_output=True, text=True)
    assert found.returncode == 0 and len(found.stdout.splitlines()) == 2
