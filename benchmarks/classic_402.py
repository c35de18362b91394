"""The classic recipe for the MNIST row-by-row LSTM, trained until it reaches 402's accuracy.

LSTM(28 -> 64) + Linear(64, 10), Adam lr 0.01, batch 64, data through a DataLoader over
torchvision's MNIST with ToTensor applied image by image. After each epoch it measures the
accuracy on all 10,000 test images (pixels scaled to [0, 1], as in training), and it stops once
that reaches TARGET, or after MAX_EPOCHS. Not a lesson: run it through benchmarks/run_402.py.
"""
import os
import sys
import time

import torch
import torchvision
from torch import nn

TARGET = 0.98     # the accuracy 402's default run reaches on the full test set
MAX_EPOCHS = 8

DEVICE = sys.argv[1] if len(sys.argv) > 1 else "cpu"  # run_402.py passes its --device
found = torch.accelerator.current_accelerator() if torch.accelerator.is_available() else None
if DEVICE not in ("cpu", getattr(found, "type", "cpu")):
    sys.exit(f"classic_402.py: error: --device {DEVICE}: {DEVICE.upper()} is not available on "
             f"this machine")
ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "mnist")
start = time.perf_counter()
torch.manual_seed(1)

train_set = torchvision.datasets.MNIST(ROOT, train=True, download=True,
                                       transform=torchvision.transforms.ToTensor())
test_set = torchvision.datasets.MNIST(ROOT, train=False, download=True)
loader = torch.utils.data.DataLoader(train_set, batch_size=64, shuffle=True)
test_x = (test_set.data.float() / 255.0).to(DEVICE)  # (10000, 28, 28), scaled like ToTensor
test_y = test_set.targets.to(DEVICE)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(input_size=28, hidden_size=64, num_layers=1, batch_first=True)
        self.out = nn.Linear(64, 10)

    def forward(self, x):
        r_out, _ = self.rnn(x, None)
        return self.out(r_out[:, -1, :])


net = Net().to(DEVICE)
optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
loss_func = nn.CrossEntropyLoss()
for epoch in range(1, MAX_EPOCHS + 1):
    for images, labels in loader:
        output = net(images.view(-1, 28, 28).to(DEVICE))  # (64, 1, 28, 28) -> (64, 28, 28)
        loss = loss_func(output, labels.to(DEVICE))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        accuracy = (net(test_x).argmax(1) == test_y).float().mean().item()
    print(f"epoch {epoch} loss {loss.item():.4f} test_accuracy {accuracy:.4f} "
          f"elapsed {time.perf_counter() - start:.1f}s", flush=True)
    if accuracy >= TARGET:
        break
wall_s = time.perf_counter() - start
print(f"final: epochs={epoch} test_accuracy={accuracy:.4f} wall_s={wall_s:.2f}")
