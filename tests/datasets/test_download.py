"""Downloads against a local HTTP server: resume, checksum, extraction, records, no network."""

import hashlib
import http.server
import io
import socket
import threading
import zipfile

import numpy as np
import pytest
import scipy.io

from hg_keras.datasets import download
from hg_keras.datasets.download import Archive, ChecksumError, DownloadError
from hg_keras.datasets.records import read_jsonl


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files`` (name -> bytes) with HTTP Range support; logs Range headers."""

    def do_GET(self):
        data = self.server.files.get(self.path.lstrip("/"))
        if data is None:
            self.send_error(404)
            return
        self.server.ranges.append(self.headers.get("Range"))
        start = 0
        if self.headers.get("Range"):
            start = int(self.headers["Range"].split("=")[1].split("-")[0])
            if start >= len(data):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RangeHandler)
    httpd.files, httpd.ranges = {}, []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _url(httpd, name):
    return f"http://127.0.0.1:{httpd.server_address[1]}/{name}"


def _flic_zip() -> bytes:
    coords = np.full((2, 29), np.nan)
    coords[:, [0, 1, 2, 3, 4, 5, 6, 9, 12, 13, 16]] = np.arange(22.0).reshape(2, 11) + 100
    examples = np.zeros((1, 2), dtype=[(n, object) for n in (
        "coords", "filepath", "imgdims", "torsobox", "istrain", "istest")])
    for i in range(2):
        examples[0, i]["coords"] = coords
        examples[0, i]["filepath"] = f"{i}.jpg"
        examples[0, i]["imgdims"] = np.array([480, 720, 3])
        examples[0, i]["torsobox"] = np.array([10.0, 20.0, 30.0, 40.0])
        examples[0, i]["istrain"] = 1 - i
        examples[0, i]["istest"] = i
    mat = io.BytesIO()
    scipy.io.savemat(mat, {"examples": examples})
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("FLIC/examples.mat", mat.getvalue())
        z.writestr("FLIC/images/0.jpg", b"jpeg bytes")
        z.writestr("FLIC/images/1.jpg", b"jpeg bytes")
    return archive.getvalue()


def test_download_extracts_and_builds_flic_records(tmp_path, server):
    data = _flic_zip()
    server.files["FLIC.zip"] = data
    archive = Archive("FLIC.zip", _url(server, "FLIC.zip"), hashlib.sha256(data).hexdigest(),
                      strip_prefix="FLIC/")
    folder = download.download_dataset("flic", tmp_path, progress=False, archives=[archive])
    assert (folder / "examples.mat").is_file() and (folder / "images" / "1.jpg").is_file()
    records = read_jsonl(folder / "annotations.jsonl")
    assert list(records.split) == ["train", "test"]
    np.testing.assert_allclose(records.center[0], [20.0, 240.0])
    assert records.image[1] == str(folder / "images" / "1.jpg")


def test_partial_download_resumes_with_a_range_request(tmp_path, server):
    data = bytes(range(256)) * 40
    server.files["blob.bin"] = data
    dest = tmp_path / "blob.bin"
    (tmp_path / "blob.bin.part").write_bytes(data[:1000])
    download.fetch(_url(server, "blob.bin"), dest, hashlib.sha256(data).hexdigest(),
                   progress=False)
    assert dest.read_bytes() == data
    assert server.ranges == ["bytes=1000-"]
    assert not (tmp_path / "blob.bin.part").exists()


def test_checksum_mismatch_raises_and_removes_the_partial_file(tmp_path, server):
    server.files["blob.bin"] = b"abc" * 100
    with pytest.raises(ChecksumError, match=r"blob\.bin: SHA-256 .* does not match"):
        download.fetch(_url(server, "blob.bin"), tmp_path / "blob.bin", "0" * 64,
                       progress=False)
    assert not (tmp_path / "blob.bin").exists() and not (tmp_path / "blob.bin.part").exists()


def test_http_error_is_a_download_error(tmp_path, server):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download.fetch(_url(server, "missing.zip"), tmp_path / "x.zip", progress=False)


def test_no_network_fails_fast_and_says_which_files_to_place_where(tmp_path):
    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    archive = Archive("FLIC.zip", f"http://127.0.0.1:{port}/FLIC.zip")
    with pytest.raises(DownloadError) as error:
        download.download_dataset("flic", tmp_path, timeout_s=2, progress=False,
                                  archives=[archive])
    message = str(error.value)
    assert "cannot connect" in message
    assert f"{tmp_path}/flic/examples.mat" in message and f"{tmp_path}/flic/images" in message
    assert f"python scripts/download.py flic --root {tmp_path}" in message


def test_extract_refuses_members_outside_the_target(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("../evil.txt", b"x")
    with pytest.raises(ValueError, match="outside"):
        download.extract(archive, tmp_path / "out")

