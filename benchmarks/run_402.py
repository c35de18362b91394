"""Time to the same accuracy: 402's default run against the classic recipe, whole processes.

The classic recipe (benchmarks/classic_402.py) trains epoch after epoch, checking all 10,000 test
images after each, until it reaches 0.98 (at most 8 epochs); 402's default run trains its two
epochs and reports its accuracy on the same 10,000 images. Each run is timed by GNU time
(/usr/bin/time): wall seconds from start to exit, imports included, and peak resident memory.
The two alternate, so that a machine that slows down or speeds up during the benchmark affects
both alike; the medians are compared.

    python benchmarks/run_402.py                # 3 runs of each on the CPU (minutes on 2 cores)
    python benchmarks/run_402.py --runs 5
    python benchmarks/run_402.py --device cuda  # both recipes on the GPU
"""
import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from importlib import metadata

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def commands(device):
    return {"classic": [sys.executable, os.path.join(HERE, "classic_402.py"), device],
            "402": [sys.executable, os.path.join(ROOT, "402_rnn_classifier.py"), "--no-plot",
                    "--device", device]}


def timed(command):
    """Run command under /usr/bin/time; return (wall_s, peak_mb, epochs, test accuracy)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        env = dict(os.environ, MPLBACKEND="Agg")
        proc = subprocess.run(["/usr/bin/time", "-o", report.name, "-f", "%e %M", *command],
                              cwd=ROOT, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
            sys.exit(f"run_402.py: error: {os.path.basename(command[1])} failed: {last}")
        wall_s, peak_kb = report.read().split()[-2:]
    lines = proc.stdout.strip().splitlines()
    values = dict(item.split("=") for item in lines[-1].split()[1:])
    epochs = sum(line.startswith("epoch ") for line in lines)  # one line per epoch, both scripts
    return float(wall_s), int(peak_kb) / 1024, epochs, float(values["test_accuracy"])


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f
                        if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each (%(default)s)")
    parser.add_argument("--device", default="cpu", help="where both recipes run (%(default)s)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if not os.access("/usr/bin/time", os.X_OK):
        parser.error("needs GNU time at /usr/bin/time (Debian/Ubuntu: apt-get install time)")

    print(f"machine: {cpu_name()}, {os.cpu_count()} cores; torch {metadata.version('torch')}; "
          f"device {args.device}")
    results = {name: [] for name in commands(args.device)}
    for run in range(1, args.runs + 1):
        for name, command in commands(args.device).items():
            wall_s, peak_mb, epochs, accuracy = timed(command)
            results[name].append((wall_s, peak_mb, epochs, accuracy))
            print(f"run {run}  {name:8s} wall {wall_s:6.2f} s  peak {peak_mb:6.0f} MB  "
                  f"epochs {epochs}  test_accuracy {accuracy:.4f}", flush=True)

    median = {name: statistics.median(r[0] for r in runs) for name, runs in results.items()}
    peak = {name: max(r[1] for r in runs) for name, runs in results.items()}
    print()
    print("classic: LSTM 64, Adam 0.01, batch 64, DataLoader + ToTensor, trained until all 10,000 "
          "test images reach 0.98 (at most 8 epochs)")
    print("402:     the lesson's defaults (2 epochs), accuracy on all 10,000 test images")
    for name, runs in results.items():
        print(f"{name:8s} wall: median {median[name]:6.2f} s  peak memory {peak[name]:6.0f} MB  "
              f"epochs {sorted({r[2] for r in runs})}  "
              f"test_accuracy {min(r[3] for r in runs):.4f}-{max(r[3] for r in runs):.4f}  "
              f"reached 0.98 in {sum(r[3] >= 0.98 for r in runs)} of {len(runs)} runs")
    print(f"ratio 402/classic: wall {median['402'] / median['classic']:.2f} (medians)   "
          f"peak memory {peak['402'] / peak['classic']:.2f}")


if __name__ == "__main__":
    main()
