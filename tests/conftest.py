"""Helpers shared by the tests: load a lesson as a module, run one as a real process."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

# Never open a window from a test, with or without a screen.
os.environ["MPLBACKEND"] = "Agg"

ROOT = Path(__file__).resolve().parent.parent
# Every lesson: a numbered script at the top of the repository, in reading order.
LESSONS = sorted(path.name for path in ROOT.glob("4[0-9][0-9]_*.py"))

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                  reason="CUDA is not available on this machine")),
]

_modules = {}


def load(script):
    """Import a lesson file (its name starts with a digit, so plain `import` cannot)."""
    if script not in _modules:
        spec = importlib.util.spec_from_file_location(Path(script).stem, ROOT / script)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _modules[script] = module
    return _modules[script]


def run(script, *args, cwd=None, env=None, timeout=300):
    """Run a lesson as `python SCRIPT ARGS...` and return the CompletedProcess."""
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1",
               **(env or {}))
    return subprocess.run([sys.executable, str(ROOT / script), *map(str, args)], cwd=cwd or ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout)


def start(script, *args):
    """Start a lesson as `python SCRIPT ARGS...`, its output captured as text; return the Popen."""
    # One thread each: the tests start several lessons at once on a machine of few cores, and
    # threads that wait for each other there make every run many times slower (README).
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, str(ROOT / script), *map(str, args)], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def final_values(stdout):
    """The numbers on the `final:` line, which must be the last line on stdout."""
    last = stdout.strip().splitlines()[-1]
    assert last.startswith("final: "), f"last line is not the final: line: {last!r}"
    values = dict(item.split("=") for item in last.split()[1:])
    return {key: float(value) if value != "None" else None for key, value in values.items()}


def error_of(main, argv, capsys):
    """Call a lesson's main(argv), which must stop with a non-zero exit; return its stderr."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code != 0
    return capsys.readouterr().err


@pytest.fixture(autouse=True)
def constants_restored():
    """A lesson's flags set its constants (as editing its parameters cell would): put them back
    after each test, so that one test's flags never become the next one's defaults."""
    saved = {module: {key: value for key, value in vars(module).items() if key.isupper()}
             for module in _modules.values()}
    yield
    for module, constants in saved.items():
        vars(module).update(constants)
