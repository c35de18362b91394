"""Compare 402's default run with the classic recipe (benchmarks/classic_402.py), whole processes.

Each run is timed by GNU time (/usr/bin/time): wall seconds from start to exit, imports
included, and peak resident memory. The two alternate, so that a machine that slows down or
speeds up during the benchmark affects both alike; the medians are compared.

    python benchmarks/run_402.py            # 3 runs of each (about 2 minutes on 2 cores)
    python benchmarks/run_402.py --runs 5
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
COMMANDS = {
    "classic": [sys.executable, os.path.join(HERE, "classic_402.py")],
    "402": [sys.executable, os.path.join(ROOT, "402_rnn_classifier.py"), "--out",
            os.path.join(tempfile.gettempdir(), "402_benchmark_figures")],
}


def timed(command):
    """Run command under /usr/bin/time; return (wall_s, peak_mb, the final: line's values)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        env = dict(os.environ, MPLBACKEND="Agg")
        proc = subprocess.run(["/usr/bin/time", "-o", report.name, "-f", "%e %M", *command],
                              cwd=ROOT, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"run_402.py: error: {' '.join(command)} failed:\n{proc.stderr.strip()}")
        wall_s, peak_kb = report.read().split()[-2:]
    final = proc.stdout.strip().splitlines()[-1]
    values = dict(item.split("=") for item in final.split()[1:])
    return float(wall_s), int(peak_kb) / 1024, values


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each (%(default)s)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if not os.access("/usr/bin/time", os.X_OK):
        parser.error("needs GNU time at /usr/bin/time (Debian/Ubuntu: apt-get install time)")

    results = {name: [] for name in COMMANDS}
    for run in range(1, args.runs + 1):
        for name, command in COMMANDS.items():
            wall_s, peak_mb, values = timed(command)
            results[name].append((wall_s, peak_mb))
            accuracy = ", ".join(f"{k}={v}" for k, v in values.items() if "accuracy" in k)
            print(f"run {run}  {name:8s} wall {wall_s:6.2f} s  peak {peak_mb:6.0f} MB  {accuracy}",
                  flush=True)

    median = {name: statistics.median(w for w, _ in runs) for name, runs in results.items()}
    best = {name: min(w for w, _ in runs) for name, runs in results.items()}
    peak = {name: max(m for _, m in runs) for name, runs in results.items()}
    print()
    print("classic: LSTM 64, Adam 0.01, batch 64, 1 epoch, DataLoader + ToTensor, "
          "2000-image test pass every 50 steps (accuracy on those 2000 images)")
    print("402:     the lesson's defaults (accuracy on all 10,000 test images)")
    for name in COMMANDS:
        print(f"{name:8s} wall: median {median[name]:6.2f} s, best {best[name]:6.2f} s   "
              f"peak memory {peak[name]:6.0f} MB")
    print(f"ratio 402/classic: wall {median['402'] / median['classic']:.2f} (medians), "
          f"{best['402'] / best['classic']:.2f} (best runs)   "
          f"peak memory {peak['402'] / peak['classic']:.2f}")


if __name__ == "__main__":
    main()
