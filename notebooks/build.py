"""Make notebooks/*.ipynb from the lesson scripts, and run them so that they show their results.

    python notebooks/build.py                        # all four lessons
    python notebooks/build.py 401_rnn_regressor.py   # one

jupytext turns each script's `# %%` cells into a notebook; nbclient runs it in a Jupyter kernel,
from this folder, with the lesson's defaults, and the notebook is written here with its outputs
(figures inline, the `final:` line). The scripts are the source: never edit a notebook by hand.
"""
import os
import sys

import jupytext
import nbformat
from nbclient import NotebookClient

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LESSONS = ["401_rnn_regressor.py", "402_rnn_classifier.py", "403_lstm_sin_cos.py",
           "404_rnn_next_step.py"]
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def notebook_of(script):
    """The script's cells as a notebook, not yet run."""
    nb = jupytext.read(os.path.join(ROOT, script))
    nb.metadata = {"kernelspec": KERNEL, "language_info": {"name": "python"}}
    return nb


def kernel_env():
    """The environment for a kernel: matplotlib's inline backend, not a forced file-only one."""
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)
    return env


def build(script):
    nb = notebook_of(script)
    NotebookClient(nb, timeout=600, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": HERE}}).execute(env=kernel_env())
    path = os.path.join(HERE, script.replace(".py", ".ipynb"))
    part = f"{path}.{os.getpid()}.part"
    nbformat.write(nb, part)
    os.replace(part, path)
    print(f"{os.path.relpath(path, ROOT)}: {os.path.getsize(path) / 1e6:.2f} MB")


def main():
    scripts = sys.argv[1:] or LESSONS
    unknown = [s for s in scripts if s not in LESSONS]
    if unknown:
        sys.exit(f"build.py: error: not a lesson: {', '.join(unknown)} "
                 f"(choose from {', '.join(LESSONS)})")
    for script in scripts:
        build(script)


if __name__ == "__main__":
    main()
