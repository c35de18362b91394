"""Two of 402's cost claims, measured on its own model in one process, back to back.

1. Adam's step with fused=True against the default (on the CPU: one parameter at a time, about
   eight tensor operations each), after a real forward and backward, so that every
   parameter has a gradient.
2. 100 batches of 64 images: loading them with the classic DataLoader + ToTensor, against the
   LSTM's forward, backward and optimizer step on the same batches.

Each figure is the median of several repeats, and the two sides alternate, so that a machine
that slows down during the run affects both alike. Compare the figures as ratios.

    python benchmarks/steps_402.py
    python benchmarks/steps_402.py --repeats 9
    python benchmarks/steps_402.py --threads 1  # steadier where other work shares the cores
"""
import argparse
import importlib.util
import os
import statistics
import time

import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def lesson():
    spec = importlib.util.spec_from_file_location("lesson402", os.path.join(ROOT,
                                                  "402_rnn_classifier.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def adam_step_ms(m, images, labels, fused, steps=200):
    """Median ms of optimizer.step() alone over `steps` steps, each after a real backward."""
    torch.manual_seed(0)
    model = m.Classifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, fused=fused)
    times = []
    for i in range(steps):
        x = m.to_input(images[i % 50 * 128:(i % 50 + 1) * 128])
        loss = torch.nn.functional.cross_entropy(model(x), labels[i % 50 * 128:(i % 50 + 1) * 128])
        optimizer.zero_grad()
        loss.backward()
        start = time.perf_counter()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times[20:])  # the first steps create Adam's state


def train_step_ms(m, images, labels, steps=50):
    """Median ms of a whole training step (batch of 128, forward, backward, clip, fused step)."""
    torch.manual_seed(0)
    model = m.Classifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, fused=True)
    times = []
    for i in range(steps):
        start = time.perf_counter()
        x = m.to_input(images[i * 128:(i + 1) * 128])
        loss = torch.nn.functional.cross_entropy(model(x), labels[i * 128:(i + 1) * 128])
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times[5:])


def loading_s(root, batches=100, batch_size=64):
    """Seconds to take `batches` shuffled batches from the classic DataLoader with ToTensor."""
    dataset = torchvision.datasets.MNIST(root, train=True, download=False,
                                         transform=torchvision.transforms.ToTensor())
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True)
    start, out = time.perf_counter(), []
    for i, batch in enumerate(loader):
        out.append(batch)
        if i + 1 == batches:
            break
    return time.perf_counter() - start, out


def lstm_s(m, batches):
    """Seconds for the LSTM's forward, backward and Adam step on those same batches."""
    torch.manual_seed(0)
    model = m.Classifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, fused=True)
    start = time.perf_counter()
    for x, y in batches:
        loss = torch.nn.functional.cross_entropy(model(x.squeeze(1)), y)  # (64, 28, 28)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads; 0: torch's default (one per core)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    m = lesson()
    train_x, train_y, _, _ = m.load_mnist(os.path.join(ROOT, "mnist"))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    fused, plain, whole = [], [], []
    for _ in range(args.repeats):
        plain.append(adam_step_ms(m, train_x, train_y, fused=False))
        fused.append(adam_step_ms(m, train_x, train_y, fused=True))
        whole.append(train_step_ms(m, train_x, train_y))
    print(f"adam step: {statistics.median(plain):.3f} ms default (fused=False), "
          f"{statistics.median(fused):.3f} ms fused=True; a whole training step of 128 images: "
          f"{statistics.median(whole):.2f} ms  (medians of {args.repeats})")
    load, lstm = [], []
    for _ in range(args.repeats):
        seconds, batches = loading_s(os.path.join(ROOT, "mnist"))
        load.append(seconds)
        lstm.append(lstm_s(m, batches))
    print(f"100 batches of 64: DataLoader + ToTensor {statistics.median(load):.3f} s "
          f"(range {min(load):.3f}-{max(load):.3f}), LSTM forward + backward + step "
          f"{statistics.median(lstm):.3f} s (range {min(lstm):.3f}-{max(lstm):.3f}); "
          f"loading / LSTM = {statistics.median(load) / statistics.median(lstm):.2f}")


if __name__ == "__main__":
    main()
