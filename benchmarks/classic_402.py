"""The classic recipe for the MNIST row-by-row LSTM, kept as the baseline for 402's speed.

LSTM(28 -> 64) + Linear(64, 10), Adam lr 0.01, batch 64, one epoch. Data through a DataLoader
over torchvision's MNIST with ToTensor applied image by image, and every 50 steps a pass over the
first 2000 test images with gradients on (as that recipe does). Prints its accuracy on those 2000
images at the end. Not a lesson: run it through benchmarks/run_402.py.
"""
import os
import sys
import time

import torch
import torchvision
from torch import nn

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "mnist")
start = time.perf_counter()
torch.manual_seed(1)

train_set = torchvision.datasets.MNIST(ROOT, train=True, download=True,
                                       transform=torchvision.transforms.ToTensor())
test_set = torchvision.datasets.MNIST(ROOT, train=False, download=True)
loader = torch.utils.data.DataLoader(train_set, batch_size=64, shuffle=True)
# the recipe's test batch: the first 2000 test images scaled to [0, 1], (2000, 28, 28)
test_x = test_set.data[:2000].float() / 255.0
test_y = test_set.targets[:2000]


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(input_size=28, hidden_size=64, num_layers=1, batch_first=True)
        self.out = nn.Linear(64, 10)

    def forward(self, x):
        r_out, _ = self.rnn(x, None)
        return self.out(r_out[:, -1, :])


net = Net()
optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
loss_func = nn.CrossEntropyLoss()
accuracy = 0.0
for step, (images, labels) in enumerate(loader):
    output = net(images.view(-1, 28, 28))  # (64, 1, 28, 28) -> (64, 28, 28)
    loss = loss_func(output, labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        accuracy = (net(test_x).argmax(1) == test_y).float().mean().item()
        print(f"step {step} loss {loss.item():.4f} accuracy(2000) {accuracy:.4f}", flush=True)
accuracy = (net(test_x).argmax(1) == test_y).float().mean().item()
print(f"final: test_accuracy_2000={accuracy:.4f} wall_s={time.perf_counter() - start:.2f}")
sys.exit(0)
