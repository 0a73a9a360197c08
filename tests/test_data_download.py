"""Downloads against a local HTTP server: mirror fallback, checksums, atomic writes, MNIST and CIFAR-10 end to end."""
import functools
import hashlib
import http.server
import io
import os
import pickle
import socket
import tarfile
import threading

import numpy as np
import pytest

from cnnlab.data import CIFAR10, MNIST, DownloadError, download_url, write_idx


def md5(raw):
    return hashlib.md5(raw).hexdigest()


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves files from a folder; /short/... promises 1000 bytes and sends 10, as a dropped connection does."""

    requests = []

    def do_GET(self):
        self.requests.append(self.path)
        if self.path.startswith("/short/"):
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"x" * 10)
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path, monkeypatch):
    """(base URL, served folder, request log) of an HTTP server on 127.0.0.1."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    served = tmp_path / "served"
    served.mkdir()
    Handler.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", served, Handler.requests
    httpd.shutdown()
    httpd.server_close()


def leftovers(folder):
    return [name for name in os.listdir(folder) if name.endswith(".part")]


def test_first_mirror_404_second_succeeds(server, tmp_path):
    base, served, requests = server
    (served / "good").mkdir()
    (served / "good" / "f.bin").write_bytes(b"payload" * 1000)
    target = tmp_path / "out" / "f.bin"
    path = download_url([f"{base}/missing/f.bin", f"{base}/good/f.bin"], target, md5=md5(b"payload" * 1000))
    assert path == str(target) and target.read_bytes() == b"payload" * 1000
    assert requests == ["/missing/f.bin", "/good/f.bin"]
    assert leftovers(target.parent) == []


def test_checksum_mismatch_falls_through_and_fails_cleanly(server, tmp_path):
    base, served, _ = server
    (served / "bad").mkdir()
    (served / "bad" / "f.bin").write_bytes(b"tampered")
    expected = md5(b"original")
    target = tmp_path / "f.bin"
    with pytest.raises(DownloadError) as info:
        download_url([f"{base}/missing/f.bin", f"{base}/bad/f.bin"], target, md5=expected)
    message = str(info.value)
    assert message.startswith("could not download f.bin; tried:")
    assert f"{base}/missing/f.bin: HTTP Error 404" in message
    assert f"{base}/bad/f.bin: MD5 mismatch: expected {expected}, got {md5(b'tampered')}" in message
    assert not target.exists() and leftovers(tmp_path) == []
    (served / "good").mkdir()
    (served / "good" / "f.bin").write_bytes(b"original")
    download_url([f"{base}/bad/f.bin", f"{base}/good/f.bin"], target, md5=expected)
    assert target.read_bytes() == b"original"


def test_dropped_connection_leaves_no_partial_file_and_keeps_the_old_one(server, tmp_path):
    base, _, _ = server
    target = tmp_path / "f.bin"
    target.write_bytes(b"previous")
    with pytest.raises(
        DownloadError,
        match=r"f.bin; tried:\n  .*/short/f.bin: incomplete download: received 10 of 1000 bytes",
    ):
        download_url([f"{base}/short/f.bin"], target)
    assert target.read_bytes() == b"previous" and leftovers(tmp_path) == []


def test_unreachable_server_is_reported(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(DownloadError, match=rf"http://127.0.0.1:{port}/f.bin: <urlopen error"):
        download_url([f"http://127.0.0.1:{port}/f.bin"], tmp_path / "f.bin", timeout=5)


def test_mnist_download_true(server, tmp_path):
    base, served, requests = server
    (served / "mnist").mkdir()
    g = np.random.default_rng(0)
    images, labels = g.integers(0, 256, (7, 28, 28), dtype=np.uint8), g.integers(0, 10, 7).astype(np.uint8)
    write_idx(served / "mnist" / "t10k-images-idx3-ubyte.gz", images)
    write_idx(served / "mnist" / "t10k-labels-idx1-ubyte.gz", labels)

    class LocalMNIST(MNIST):
        mirrors = [f"{base}/missing/", f"{base}/mnist/"]
        md5 = {name: md5((served / "mnist" / name).read_bytes()) for name in os.listdir(served / "mnist")}

    root = tmp_path / "data"
    test = LocalMNIST(root, train=False, download=True)
    np.testing.assert_array_equal(test.data[:, 0], images)
    np.testing.assert_array_equal(test.targets, labels)
    assert sorted(os.listdir(root)) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    count = len(requests)
    LocalMNIST(root, train=False, download=True)  # files present: nothing fetched
    assert len(requests) == count


def test_mnist_download_checksum_failure(server, tmp_path):
    base, served, _ = server
    (served / "mnist").mkdir()
    write_idx(served / "mnist" / "train-images-idx3-ubyte.gz", np.zeros((2, 28, 28), np.uint8))
    write_idx(served / "mnist" / "train-labels-idx1-ubyte.gz", np.zeros(2, np.uint8))

    class LocalMNIST(MNIST):
        mirrors = [f"{base}/mnist/"]  # serves files whose MD5 is not the official one

    with pytest.raises(
        DownloadError,
        match=r"(?s)could not download train-images-idx3-ubyte.gz.*MD5 mismatch: "
        r"expected f68b3c2dcbeaaa9fbdd348bbdeb94873",
    ):
        LocalMNIST(tmp_path / "data", download=True)
    assert not (tmp_path / "data" / "train-images-idx3-ubyte.gz").exists()


def cifar_archive(path, n=2):
    """A cifar-10-python.tar.gz in the real layout, plus a member that tries to escape the folder."""
    g = np.random.default_rng(1)
    members = {
        name: pickle.dumps({"data": g.integers(0, 256, (n, 3072), dtype=np.uint8), "labels": [1] * n}, protocol=4)
        for name in [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]
    }
    members["batches.meta"] = pickle.dumps({"label_names": [f"c{k}" for k in range(10)]}, protocol=4)
    with tarfile.open(path, "w:gz") as tar:
        for name, raw in list(members.items()) + [("../escaped", b"evil")]:
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))


def test_cifar10_download_true(server, tmp_path):
    base, served, _ = server
    cifar_archive(served / "cifar-10-python.tar.gz")

    class LocalCIFAR10(CIFAR10):
        mirrors = [f"{base}/missing/cifar-10-python.tar.gz", f"{base}/cifar-10-python.tar.gz"]
        archive_md5 = md5((served / "cifar-10-python.tar.gz").read_bytes())

    root = tmp_path / "data"
    train = LocalCIFAR10(root, download=True)
    assert train.data.shape == (10, 3, 32, 32) and train.classes[2] == "c2"
    assert LocalCIFAR10(root, train=False, download=True).data.shape == (2, 3, 32, 32)
    assert sorted(os.listdir(root)) == ["cifar-10-batches-py", "cifar-10-python.tar.gz"]
    assert sorted(os.listdir(root / "cifar-10-batches-py")) == sorted(
        [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch", "batches.meta"]
    )
    assert not (root / "escaped").exists() and not (tmp_path / "escaped").exists()


def test_cifar10_download_checksum_failure(server, tmp_path):
    base, served, _ = server
    cifar_archive(served / "cifar-10-python.tar.gz")

    class LocalCIFAR10(CIFAR10):
        mirrors = [f"{base}/cifar-10-python.tar.gz"]

    with pytest.raises(DownloadError, match=r"MD5 mismatch: expected c58f30108f718f92721af3b95e74349a"):
        LocalCIFAR10(tmp_path, download=True)
    assert os.listdir(tmp_path) == ["served"]
