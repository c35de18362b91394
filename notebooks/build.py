"""Make the notebooks from the lesson scripts, and run them so that they show their results.

    python notebooks/build.py                          # every lesson, in English and Chinese
    python notebooks/build.py 401_rnn_regressor.py     # one lesson, both languages
    python notebooks/build.py zh                       # one language: en (notebooks/*.ipynb)
                                                       # or zh (notebooks/zh/*.ipynb)

jupytext turns each script's `# %%` cells into a notebook; nbclient runs it in a Jupyter kernel
started in the notebook's own folder, as Jupyter starts it (so 402 must find mnist/ from there),
with the lesson's defaults, and the notebook is written with its outputs (figures inline, the
`final:` line). The scripts are the source: never edit a notebook
by hand.

The Chinese notebook has the script's code cells, taken here, and in place of each markdown cell
its translation from notebooks/zh/LESSON.md. In that file every translated cell starts with a
line `<!-- KEY -->`, where KEY is the first line of the English cell (its heading), so each
English cell finds its translation; the tests check that none is missing or left over, and that
every number of an English cell appears in its translation.
"""
import os
import re
import sys

import jupytext
import nbformat
from nbclient import NotebookClient

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# Every lesson: a numbered script beside this folder, in reading order.
LESSONS = sorted(name for name in os.listdir(ROOT) if re.fullmatch(r"4\d\d_\w+\.py", name))
LANGUAGES = {"en": HERE, "zh": os.path.join(HERE, "zh")}
# As current ipykernel names its kernelspec. JupyterLab still marks a notebook modified when it
# opens it with a kernel whose language_info differs from the stored one (another Python version
# than the one that built it), and its autosave then rewrites the file: README's troubleshooting
# says how to discard that (`git checkout -- notebooks`). No stored metadata avoids it.
KERNEL = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
HIDE = "hide-input"  # the tag of the folded plumbing cell
KEY_LINE = re.compile(r"^<!-- (.+) -->$", re.MULTILINE)
# A figure as the text writes it: 0.9837, 2,600, 5e-4, 25, 1.8e-04.
NUMBER = re.compile(r"\d+(?:[.,]\d+)*(?:e[-+]?\d+)?")


def key_of(cell):
    """What finds a markdown cell's translation: its first line."""
    return cell.source.splitlines()[0]


def translation(script):
    """{key: Chinese markdown} from notebooks/zh/LESSON.md."""
    with open(os.path.join(LANGUAGES["zh"], script.replace(".py", ".md")), encoding="utf-8") as f:
        parts = KEY_LINE.split(f.read())
    return {key: text.strip("\n") for key, text in zip(parts[1::2], parts[2::2])}


def numbers(text):
    return set(NUMBER.findall(text))


def notebook_of(script, language="en"):
    """The script's cells as a notebook, not yet run; in Chinese, its markdown translated."""
    nb = jupytext.read(os.path.join(ROOT, script))
    nb.metadata = {"kernelspec": KERNEL, "language_info": {"name": "python"}}
    if language == "zh":
        chinese = translation(script)
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = chinese[key_of(cell)]
    for cell in nb.cells:
        if cell.metadata.get("jupyter", {}).get("source_hidden"):
            # Folded in JupyterLab, Notebook 7 and VS Code (source_hidden) and in Colab (cellView
            # form); the tag folds it in Jupyter Book and leaves it out of an nbconvert export
            # made with --TagRemovePreprocessor.remove_input_tags=hide-input (README).
            cell.metadata["tags"] = sorted(set(cell.metadata.get("tags", [])) | {HIDE})
    return nb


def kernel_env():
    """The environment for a kernel: matplotlib's inline backend, not a forced file-only one, and
    one thread, as the lessons' own figures were measured (the last digits move with the thread
    count)."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("MPLBACKEND", None)
    return env


def build(script, language):
    folder = LANGUAGES[language]
    nb = notebook_of(script, language)
    NotebookClient(nb, timeout=600, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": folder}}).execute(env=kernel_env())
    path = os.path.join(folder, script.replace(".py", ".ipynb"))
    part = f"{path}.{os.getpid()}.part"
    nbformat.write(nb, part)
    os.replace(part, path)
    print(f"{os.path.relpath(path, ROOT)}: {os.path.getsize(path) / 1e6:.2f} MB")


def main():
    names = sys.argv[1:]
    unknown = [n for n in names if n not in LESSONS and n not in LANGUAGES]
    if unknown:
        sys.exit(f"build.py: error: not a lesson or a language: {', '.join(unknown)} "
                 f"(choose from {', '.join(LESSONS + list(LANGUAGES))})")
    scripts = [n for n in names if n in LESSONS] or LESSONS
    languages = [n for n in names if n in LANGUAGES] or list(LANGUAGES)
    for language in languages:
        for script in scripts:
            build(script, language)


if __name__ == "__main__":
    main()
