"""402: the model, learning on the shipped MNIST, the data errors, --save/--load, bad flags."""
import hashlib
import http.server
import os
import shutil
import subprocess
import sys
import threading

import pytest
import torch
import torchvision

from conftest import ROOT, error_of, final_values, load, run

SCRIPT = "402_rnn_classifier.py"
RAW = ROOT / "mnist" / "MNIST" / "raw"
# Where nothing listens: with these set, urllib's downloads fail at once, network or not.
OFFLINE = {key: "http://127.0.0.1:9" for key in ("http_proxy", "https_proxy", "HTTP_PROXY",
                                                    "HTTPS_PROXY")}


@pytest.fixture(scope="module")
def m():
    return load(SCRIPT)


@pytest.fixture(scope="module")
def mnist(m):
    return m.load_mnist(str(ROOT / "mnist"))


def snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}

def fresh_copy(folder):
    """The four shipped archives, and nothing extracted, as on a fresh clone."""
    raw = folder / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for archive in RAW.glob("*.gz"):
        shutil.copy(archive, raw / archive.name)
    return raw


def test_shipped_archives_are_the_originals(m):
    for name, md5 in torchvision.datasets.MNIST.resources:
        assert hashlib.md5((RAW / name).read_bytes()).hexdigest() == md5, name


def test_data_shapes(mnist):
    train_x, train_y, test_x, test_y = mnist
    assert train_x.shape == (60000, 28, 28) and train_x.dtype == torch.uint8
    assert test_x.shape == (10000, 28, 28) and test_y.shape == (10000,)
    assert set(train_y.unique().tolist()) == set(range(10))


def test_input_is_normalised_rows(m, mnist):
    x = m.to_input(mnist[0][:2000])
    assert x.shape == (2000, 28, 28) and x.dtype == torch.float32  # (batch, rows, pixels)
    assert abs(x.mean().item()) < 0.05 and abs(x.std().item() - 1) < 0.05


def test_last_step_output_is_h_n_and_batches_start_from_zero(m):
    torch.manual_seed(0)
    model = m.Classifier(hidden_size=32)
    x = torch.randn(5, 28, 28)
    r_out, (h_n, c_n) = model.rnn(x)
    assert r_out.shape == (5, 28, 32) and h_n.shape == c_n.shape == (1, 5, 32)
    assert torch.equal(r_out[:, -1], h_n[-1])  # one direction, no padding: the last h
    r_out, (h_n, _) = torch.nn.LSTM(28, 8, num_layers=2, batch_first=True)(x)
    assert torch.equal(r_out[:, -1], h_n[-1])  # a stack too: r_out is the top layer's
    r_out, (h_n, _) = torch.nn.LSTM(28, 8, bidirectional=True, batch_first=True)(x)
    assert torch.equal(r_out[:, -1, :8], h_n[-2])  # the forward half is its last h...
    assert not torch.allclose(r_out[:, -1, 8:], h_n[-1])  # ...the backward half is not
    scores = model(x)
    assert scores.shape == (5, 10)
    # a fresh zero state for every batch: nothing is carried between calls or between images
    assert torch.equal(model(x), scores)
    assert torch.allclose(model(x[2:3]), scores[2:3], atol=1e-6)
    zeros = torch.zeros(1, 5, 32)
    assert torch.allclose(model.out(model.rnn(x, (zeros, zeros))[0][:, -1]), scores, atol=1e-6)


def test_the_forget_gate_starts_mostly_open(m):
    torch.manual_seed(0)
    model = m.Classifier(hidden_size=16)
    bias = model.rnn.bias_ih_l0 + model.rnn.bias_hh_l0  # (4 * 16,): blocks i, f, g, o
    assert torch.equal(bias[16:32], torch.ones(16))  # f: sigma(1) = 0.73 at small weights
    assert (bias[:16].abs() < 0.5).all() and (bias[32:].abs() < 0.5).all()  # the rest: default


def test_a_few_hundred_steps_learn(m, mnist):
    torch.manual_seed(1)
    model = m.Classifier()
    train_x, train_y, test_x, test_y = mnist
    lines = []
    m.train(model, (train_x, train_y, test_x[:1000], test_y[:1000]), max_steps=300,
            log=lines.append)
    assert lines[1] is model  # print(model), once
    assert [str(line)[:9] for line in lines[2:]] == ["step 1/30", "step 200/", "epoch 1/2"]
    accuracy, predictions = m.evaluate(model, test_x[:1000], test_y[:1000])
    assert predictions.shape == (1000,)
    assert accuracy > 0.90, accuracy
    # The guess after each row: after the last row it is the test accuracy; after the first
    # rows (blank in nearly every image, and never asked for a guess) it is near chance.
    by_row = m.accuracy_by_row(model, test_x[:1000], test_y[:1000])
    assert by_row.shape == (28,)
    assert by_row[-1].item() == pytest.approx(accuracy, abs=1e-6)
    assert by_row[:3].max() < 0.2, by_row


def test_rows_to_90_is_the_first_row_whose_guess_is_right_on_90_percent(m, monkeypatch, capsys):
    by_row = torch.linspace(0.1, 0.95, 28)  # after row k: 0.1 + (k - 1) * 0.85 / 27
    assert by_row[25] < 0.9 <= by_row[26]  # rows 1-26 below 0.9, row 27 above
    monkeypatch.setattr(m, "accuracy_by_row", lambda *args: by_row)
    m.main(["--max-steps", "1", "--no-plot", "--hidden-size", "8"])
    assert " rows_to_90=27 " in capsys.readouterr().out.strip().splitlines()[-1]


def test_save_then_load_gives_the_same_accuracy(m, tmp_path, capsys):
    path = tmp_path / "lstm.pt"
    trained = m.main(["--max-steps", "30", "--no-plot", "--hidden-size", "24",
                      "--save", str(path)])
    loaded = m.main(["--load", str(path), "--no-plot"])  # the size comes from the file
    assert loaded == trained
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("final: test_accuracy=") and f"saved: {path}" in out


def test_empty_data_dir_without_network_is_one_clear_error(tmp_path):
    proc = run(SCRIPT, "--data-dir", tmp_path, "--no-plot", env=OFFLINE)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(tmp_path) in lines[0]
    for name in ("train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        assert name in lines[0]
    assert "final:" not in proc.stdout


def test_damaged_archive_is_one_clear_error_and_is_left_alone(m, tmp_path, capsys):
    raw = fresh_copy(tmp_path)
    damaged = raw / "t10k-labels-idx1-ubyte.gz"
    damaged.write_bytes(damaged.read_bytes()[:-100])  # a truncated download, say
    before = snapshot(tmp_path)
    lines = error_of(m.main, ["--data-dir", str(tmp_path), "--no-plot"], capsys).splitlines()
    assert len(lines) == 1 and str(damaged) in lines[0] and "md5" in lines[0]
    assert snapshot(tmp_path) == before  # nothing replaced, extracted or removed


@pytest.mark.parametrize("argv, mentions", [
    (["--epochs", "0"], "--epochs"),
    (["--batch-size", "abc"], "--batch-size"),
    (["--lr", "-1"], "--lr"),
    (["--hidden-size", "0"], "--hidden-size"),
    (["--max-steps", "-5"], "--max-steps"),
    (["--device", "tpu"], "--device"),
    (["--load", "no/such/file.pt"], "--load"),
    (["--save", "no/such/folder/model.pt"], "--save"),
] + ([] if torch.cuda.is_available() else [(["--device", "cuda"], "CUDA")]))
def test_bad_flag_is_one_clear_error(m, argv, mentions, capsys):
    err = error_of(m.main, argv, capsys)
    assert mentions in err and "error:" in err


def test_a_file_that_is_no_model_is_one_clear_error(m, tmp_path, capsys):
    bogus = tmp_path / "notes.pt"
    bogus.write_text("not a model")
    err = error_of(m.main, ["--load", str(bogus), "--no-plot"], capsys).strip().splitlines()
    assert len(err) == 1 and "--load" in err[0] and str(bogus) in err[0]


def test_save_to_a_folder_is_refused_before_any_work(m, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        m.main(["--save", str(tmp_path), "--no-plot"])
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    last = err.strip().splitlines()[-1]
    assert "--save" in last and "is a folder" in last
    assert out == ""  # no data loaded, no training started
    assert list(tmp_path.iterdir()) == []


def test_save_replaces_the_old_file_only_when_the_new_one_is_whole(m, tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(b"the earlier checkpoint")
    with pytest.raises(KeyboardInterrupt):  # stopped halfway through writing
        with m.written_whole(str(path)) as part:
            with open(part, "wb") as f:
                f.write(b"half")
            raise KeyboardInterrupt
    assert path.read_bytes() == b"the earlier checkpoint"
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no temporary file left
    with m.written_whole(str(path)) as part:
        torch.save({"w": torch.ones(2)}, part)
    assert torch.equal(torch.load(path)["w"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_runs_started_together_on_a_fresh_copy_all_succeed_alike(tmp_path):
    raw = fresh_copy(tmp_path)
    archives = snapshot(raw)
    env = dict(OFFLINE, MPLBACKEND="Agg", OMP_NUM_THREADS="1")
    procs = [subprocess.Popen([sys.executable, str(ROOT / SCRIPT), "--data-dir", str(tmp_path),
                               "--max-steps", "5", "--no-plot"], env=dict(os.environ, **env),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    results = [proc.communicate(timeout=300) + (proc.returncode,) for proc in procs]
    for out, err, code in results:
        assert code == 0, err
    accuracies = {final_values(out)["test_accuracy"] for out, _, _ in results}
    assert len(accuracies) == 1
    after = snapshot(raw)
    assert {name: after[name] for name in archives} == archives  # archives untouched
    assert not [name for name in after if name.endswith(".part")]


@pytest.mark.parametrize("damage", ["truncated", "garbage", "deleted"])
def test_a_broken_extracted_file_is_extracted_again(m, mnist, tmp_path, damage):
    raw = fresh_copy(tmp_path)
    m.prepare_mnist(str(tmp_path))
    target = raw / "train-labels-idx1-ubyte"
    whole = target.read_bytes()
    if damage == "truncated":   # a first run stopped during extraction
        target.write_bytes(whole[:1000])
    elif damage == "garbage":
        target.write_bytes(b"x" * len(whole))
    else:
        target.unlink()
    train_x, train_y, _, _ = m.load_mnist(str(tmp_path))
    assert target.read_bytes() == whole
    assert torch.equal(train_y, mnist[1])


def test_a_data_dir_that_is_a_file_is_one_clear_error(m, tmp_path, capsys):
    a_file = tmp_path / "mnist.zip"
    a_file.write_bytes(b"")
    lines = error_of(m.main, ["--data-dir", str(a_file), "--no-plot"], capsys).splitlines()
    assert len(lines) == 1 and str(a_file) in lines[0] and "is a file, not a folder" in lines[0]
    assert a_file.read_bytes() == b""


@pytest.fixture
def mirror(monkeypatch):
    """A local stand-in for MNIST's download mirrors: an HTTP server on 127.0.0.1 serving files."""
    served = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = served.get(self.path.lstrip("/"))
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy",
                "ALL_PROXY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors",
                        [f"http://127.0.0.1:{server.server_port}/"])
    yield served
    server.shutdown()
    server.server_close()


def test_missing_archives_are_downloaded_checked_and_extracted(m, mnist, mirror, tmp_path):
    for name, _ in torchvision.datasets.MNIST.resources:
        mirror[name] = (RAW / name).read_bytes()
    train_x, train_y, test_x, test_y = m.load_mnist(str(tmp_path / "new"))
    assert torch.equal(test_y, mnist[3]) and torch.equal(train_x[:100], mnist[0][:100])
    raw = tmp_path / "new" / "MNIST" / "raw"
    for name in mirror:
        assert (raw / name).read_bytes() == mirror[name]
    assert not [p.name for p in raw.iterdir() if ".part" in p.name]


def test_a_download_that_is_not_the_original_is_refused(m, mirror, tmp_path):
    raw = fresh_copy(tmp_path)
    (raw / "t10k-labels-idx1-ubyte.gz").unlink()
    mirror["t10k-labels-idx1-ubyte.gz"] = b"something else entirely"
    with pytest.raises(m.DataError, match="t10k-labels-idx1-ubyte.gz.*could not be downloaded"):
        m.prepare_mnist(str(tmp_path))
    assert not (raw / "t10k-labels-idx1-ubyte.gz").exists()
    assert not [p.name for p in raw.iterdir() if ".part" in p.name]


def test_mnist_is_found_beside_the_script_here_or_up_to_two_folders_up(m, tmp_path,
                                                                       monkeypatch):
    assert m.find_data_dir() == str(ROOT / "mnist")  # run as a file: beside the script
    monkeypatch.delattr(m, "__file__")  # as in a notebook's kernel, where there is no __file__
    (tmp_path / "mnist" / "MNIST" / "raw").mkdir(parents=True)
    (tmp_path / "notebooks" / "zh").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert m.find_data_dir() == str(tmp_path / "mnist")      # in the working folder
    monkeypatch.chdir(tmp_path / "notebooks")
    assert m.find_data_dir() == str(tmp_path / "mnist")      # one folder up
    monkeypatch.chdir(tmp_path / "notebooks" / "zh")
    assert m.find_data_dir() == str(tmp_path / "mnist")      # two up: the Chinese notebooks
    elsewhere = tmp_path / "notebooks" / "zh" / "colab"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert m.find_data_dir() == str(elsewhere / "mnist")     # none: here, for a download


def test_a_folder_that_cannot_be_written_is_one_clear_error(m, tmp_path, capsys):
    # A file where MNIST/raw/ should be: the folder cannot be made. (A read-only folder would
    # not do: the tests may run as root, who can write anywhere.)
    (tmp_path / "MNIST").mkdir()
    (tmp_path / "MNIST" / "raw").write_text("")
    lines = error_of(m.main, ["--data-dir", str(tmp_path), "--no-plot"], capsys).splitlines()
    assert len(lines) == 1 and "cannot be written" in lines[0]
    assert str(tmp_path / "MNIST" / "raw") in lines[0]
