"""Every lesson, as a real process, for a few steps on every available device."""
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import DEVICES, LESSONS, ROOT, final_values, start

# A few steps of each lesson, and what each one must draw.
SHORT = {
    "401_rnn_regressor.py": (["--steps", "5"], [".png", "_state.png", ".gif"],
                             ["mse", "mse_fresh_state"]),
    "402_rnn_classifier.py": (["--max-steps", "5"], [".png", "_rows.png"], ["test_accuracy"]),
    "403_lstm_sin_cos.py": (["--steps", "5"], [".png", "_state.png", ".gif"],
                            ["mse", "mse_fresh_state"]),
    "404_rnn_next_step.py": (["--steps", "5"], [".png", "_horizon.png"],
                             ["next_step_mse", "forecast_mse"]),
    "405_why_gates.py": (["--max-steps", "5"], [".png", "_exploding.png", "_keep.png"],
                         ["test_accuracy", "row1_share"]),
    "406_variable_lengths.py": (["--max-steps", "5"],
                                [".png", "_readings.png", "_bidirectional.png"],
                                ["test_accuracy", "reading_padding"]),
    "407_truncated_bptt.py": (["--steps", "5"], [".png", "_cost.png"],
                              ["acc_inside", "acc_beyond", "acc_long_window"]),
    "408_char_rnn.py": (["--steps", "5"], [".png", "_surprise.png"], ["val_loss", "val_bpc"]),
}


def test_every_lesson_has_a_short_run_here():
    assert sorted(SHORT) == LESSONS and sorted(LONG) == LESSONS


@pytest.mark.parametrize("device", DEVICES)
def test_every_script_runs(device, tmp_path):
    """All four at once, as real processes (most of a short run is starting Python and torch)."""
    procs = {script: start(script, *SHORT[script][0], "--device", device, "--out",
                           tmp_path / script[:3]) for script in sorted(SHORT)}
    for script, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, script + ": " + err
        assert "Traceback" not in err, script
        _, pictures, keys = SHORT[script]
        values = final_values(out)
        for key in keys + ["wall_s"]:
            assert key in values and values[key] >= 0, (script, key)
        for ending in pictures:
            assert (tmp_path / script[:3] / f"{script[:-3]}{ending}").stat().st_size > 1000


# Long enough that Ctrl-C always comes in the middle of training.
LONG = {
    "401_rnn_regressor.py": ["--steps", "1000000"],
    "402_rnn_classifier.py": ["--epochs", "50"],
    "403_lstm_sin_cos.py": ["--steps", "1000000"],
    "404_rnn_next_step.py": ["--steps", "1000000"],
    "405_why_gates.py": ["--epochs", "50"],
    "406_variable_lengths.py": ["--epochs", "50"],
    "407_truncated_bptt.py": ["--steps", "1000000"],
    "408_char_rnn.py": ["--steps", "1000000"],
}


def test_ctrl_c_is_one_line_and_exit_130(tmp_path):
    """A real SIGINT in the middle of training, all four lessons at once (to save time)."""
    procs = {}
    try:
        for script in sorted(LONG):
            folder = tmp_path / script[:3]
            folder.mkdir()
            command = [sys.executable, str(ROOT / script), *LONG[script], "--out", str(folder)]
            if script.startswith("402"):
                command += ["--save", str(folder / "model.pt")]
            # SIGINT handled as Python does by default (a shell's background job ignores it).
            procs[script] = subprocess.Popen(
                command, env=dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1",
                                  OMP_NUM_THREADS="1"),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        for script, proc in procs.items():  # the model is printed, then training starts
            lines = [proc.stdout.readline()]
            while lines[-1] and not lines[-1].startswith("training: "):
                lines.append(proc.stdout.readline())
            assert lines[-1].startswith("training: "), script + ": " + "".join(lines) + \
                proc.stderr.read()
        time.sleep(0.5)
        for proc in procs.values():
            proc.send_signal(signal.SIGINT)
        for script, proc in procs.items():
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 130, script
            assert "Traceback" not in err, script
            total = 50 * 469 if script.startswith(("402", "405", "406")) else 1000000
            lines = err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("interrupted at step "), (script, err)
            assert lines[0].endswith(f" of {total}"), (script, err)
            assert "final:" not in out, script
            assert list((tmp_path / script[:3]).iterdir()) == [], script  # nothing written
    finally:
        for proc in procs.values():
            proc.kill()
            proc.wait()
