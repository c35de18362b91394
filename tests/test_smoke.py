"""Every lesson, as a real process, for a few steps on every available device."""
import pytest

from conftest import DEVICES, final_values, run

# A few steps of each lesson, and what each one must draw.
SHORT = {
    "401_rnn_regressor.py": (["--steps", "5"], ["png", "gif"], ["mse"]),
    "402_rnn_classifier.py": (["--max-steps", "5"], ["png"], ["test_accuracy"]),
    "403_lstm_sin_cos.py": (["--steps", "5"], ["png", "gif"], ["mse"]),
    "404_rnn_next_step.py": (["--steps", "5"], ["png"], ["next_step_mse", "forecast_mse"]),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("script", sorted(SHORT))
def test_script_runs(script, device, tmp_path):
    args, pictures, keys = SHORT[script]
    out = tmp_path / "figures"
    proc = run(script, *args, "--device", device, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    values = final_values(proc.stdout)
    for key in keys + ["wall_s"]:
        assert key in values and values[key] >= 0
    stem = script[:-3]
    for ext in pictures:
        assert (out / f"{stem}.{ext}").stat().st_size > 1000
