"""The explain server's JSON API, over real HTTP on an ephemeral port: answers, arithmetic and bad input."""
import base64
import http.client
import io
import json
import socket
import threading
import time

import numpy as np
import pytest

from cnnlab import models
from cnnlab.inspect import feature_maps

Image = pytest.importorskip("PIL.Image")

from PIL import ImageFile  # noqa: E402

from cnnlab.explain import ExplainApp, ExplainServer  # noqa: E402
from cnnlab.explain.app import MAX_UPLOAD_PIXELS  # noqa: E402
from cnnlab.explain.server import MAX_BODY, json_depth  # noqa: E402
from helpers import bomb_png, png_bytes  # noqa: E402


@pytest.fixture(scope="module")
def server():
    server = ExplainServer(ExplainApp.from_source("lenet5"), port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def request(server, method, path, body=None, headers=None):
    """``(status, headers, parsed JSON or bytes)`` of one request."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    kind = response.getheader("Content-Type", "")
    return response.status, response, json.loads(data) if kind.startswith("application/json") else data


def raw_request(server, lines):
    """Send raw request bytes (no client-side path normalisation) and return the status and body."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.connect()
        connection.sock.sendall(lines)
        response = http.client.HTTPResponse(connection.sock, method="GET")
        response.begin()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def digit(server):
    """A sample digit's PNG, as /api/samples gives it."""
    _, _, samples = request(server, "GET", "/api/samples")
    return base64.b64decode(samples["samples"][7]["image"].split(",", 1)[1])


def assert_still_serving(server):
    status, _, answer = request(server, "GET", "/api/model")
    assert status == 200 and answer["name"] == "lenet5"


# ------------------------------------------------------------------ pages
def test_the_page_and_its_files(server):
    status, response, page = request(server, "GET", "/")
    assert status == 200 and response.getheader("Content-Type").startswith("text/html")
    assert b'src="/static/explain.js"' in page and b"://" not in page  # nothing from other sites
    assert "default-src 'self'" in response.getheader("Content-Security-Policy")
    for name, kind in (("explain.js", "javascript"), ("explain.css", "text/css")):
        status, response, data = request(server, "GET", f"/static/{name}")
        assert status == 200 and kind in response.getheader("Content-Type") and len(data) > 1000
        assert b"http://" not in data and b"https://" not in data


def test_api_model(server):
    status, _, answer = request(server, "GET", "/api/model")
    assert status == 200
    assert answer["input_shape"] == [1, 28, 28] and len(answer["classes"]) == 10 and "untrained" in answer["notice"]
    conv = answer["layers"][0]
    assert conv["name"] == "features.0" and conv["type"] == "Conv2d" and conv["shape"] == [6, 28, 28]
    assert conv["conv"]["kernel_size"] == [5, 5] and conv["conv"]["padding"] == [[2, 2], [2, 2]]
    assert [layer["name"] for layer in answer["layers"] if layer["maps"]] == [
        "features.0", "features.2", "features.3", "features.5"]


def test_api_samples_are_mnist_test_digits(server):
    status, _, answer = request(server, "GET", "/api/samples")
    assert status == 200 and len(answer["samples"]) == 10
    for sample in answer["samples"]:
        header, data = sample["image"].split(",", 1)
        assert header == "data:image/png;base64"
        with Image.open(io.BytesIO(base64.b64decode(data))) as image:
            assert image.size == (28, 28)


def test_samples_for_a_colour_model_are_generated():
    samples = ExplainApp.from_source("simple_cnn").samples_json()["samples"]
    assert len(samples) >= 4 and samples[0]["label"] == "photo"


# ---------------------------------------------------------------- predict
def test_predict_answers_probabilities_and_every_layer(server, digit):
    status, _, answer = request(server, "POST", "/api/predict", digit, {"Content-Type": "image/png"})
    assert status == 200
    assert answer["classes"][0] == "0 - zero" and len(answer["probabilities"]) == 10
    assert sum(answer["probabilities"]) == pytest.approx(1, abs=1e-4)
    assert answer["prediction"] == int(np.argmax(answer["probabilities"]))
    pixels = np.array(answer["input"]["pixels"], dtype=np.uint8)
    expected = feature_maps(server.app.model, pixels)
    assert [(layer["name"], layer["type"], layer["shape"]) for layer in answer["layers"]] == [
        (name, kind, list(maps.shape)) for name, kind, maps in expected]
    for layer, (_, _, maps) in zip(answer["layers"], expected):
        sent = np.array(layer["maps"])
        assert sent.shape == (min(16, maps.shape[0]),) + maps.shape[1:]
        np.testing.assert_allclose(sent, maps[:len(sent)], rtol=2e-3, atol=2e-3 * np.abs(maps).max())


def test_predict_accepts_jpeg_rgba_and_any_size(server):
    rgba = np.zeros((90, 60, 4), np.uint8)
    rgba[20:70, 25:35] = (0, 0, 0, 255)  # a black stroke on transparency: becomes a light-on-dark "1"
    status, _, answer = request(server, "POST", "/api/predict", png_bytes(rgba))
    assert status == 200
    pixels = np.array(answer["input"]["pixels"])
    assert pixels.shape == (1, 28, 28) and pixels[0, 14, 14] > 200 and pixels[0, 1, 1] < 30
    buffer = io.BytesIO()
    Image.fromarray(np.full((40, 40, 3), 200, np.uint8)).save(buffer, format="JPEG")
    assert request(server, "POST", "/api/predict?invert=0", buffer.getvalue())[0] == 200


# ---------------------------------------------------------------- explain
def test_explain_arithmetic_equals_the_real_activation(server, digit):
    _, _, predicted = request(server, "POST", "/api/predict", digit)
    pixels = np.array(predicted["input"]["pixels"], dtype=np.uint8)
    maps = {name: array for name, _, array in feature_maps(server.app.model, pixels)}
    for layer, channel, y, x in (("features.0", 0, 0, 0), ("features.0", 5, 14, 9), ("features.3", 7, 4, 6),
                                 ("features.3", 15, 9, 9)):
        body = json.dumps({"image_id": predicted["image_id"], "layer": layer, "channel": channel, "y": y, "x": x})
        status, _, answer = request(server, "POST", "/api/explain", body, {"Content-Type": "application/json"})
        assert status == 200, answer
        real = float(maps[layer][channel, y, x])
        assert abs(answer["value"] - real) <= 1e-5
        assert abs(sum(answer["channel_sums"]) + answer["bias"] - real) <= 1e-5
        assert answer["steps"][0]["type"] == "ReLU" and answer["steps"][0]["value"] == max(real, 0.0)
        products = np.array(answer["patch"]) * np.array(answer["weights"])
        np.testing.assert_allclose(products, answer["products"], atol=1e-12)


def test_explain_without_image_id_uses_the_latest_image(server, digit):
    request(server, "POST", "/api/predict", digit)
    status, _, answer = request(server, "POST", "/api/explain", json.dumps(
        {"layer": "features.3", "channel": 1, "y": 2, "x": 3}))
    assert status == 200 and answer["kernel_size"] == [5, 5] and np.shape(answer["patch"]) == (6, 5, 5)


# -------------------------------------------------------------- bad input
def test_a_body_that_is_not_an_image_is_400(server):
    for body in (b"hello", b"\x89PNG\r\n\x1a\n truncated", json.dumps({"image": 1}).encode()):
        status, _, answer = request(server, "POST", "/api/predict", body)
        assert status == 400 and ("not an image" in answer["error"] or "damaged" in answer["error"])
    status, _, answer = request(server, "POST", "/api/predict", b"")
    assert status == 400 and "empty" in answer["error"]
    status, _, answer = request(server, "POST", "/api/predict?invert=maybe", b"x")
    assert status == 400 and "invert must be" in answer["error"]
    assert_still_serving(server)


def test_an_oversized_upload_is_413_before_the_body_is_read(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.putrequest("POST", "/api/predict")
        connection.putheader("Content-Length", str(MAX_BODY + 1))
        connection.endheaders()  # no body sent: the server must answer from the header alone
        response = connection.getresponse()
        assert response.status == 413 and "limit" in json.loads(response.read())["error"]
    finally:
        connection.close()
    assert_still_serving(server)


def test_an_image_with_too_many_pixels_is_413(server):
    buffer = io.BytesIO()
    Image.new("1", (7000, 7000)).save(buffer, format="PNG")  # 49 M pixels in a few kilobytes
    status, _, answer = request(server, "POST", "/api/predict", buffer.getvalue())
    assert status == 413 and "pixels" in answer["error"]
    assert_still_serving(server)


def test_missing_or_bad_content_length(server):
    for headers, expected in (([], 411), ([("Transfer-Encoding", "chunked")], 411),
                              ([("Content-Length", "-5")], 400), ([("Content-Length", "lots")], 400)):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            connection.putrequest("POST", "/api/explain")
            for key, value in headers:
                connection.putheader(key, value)
            connection.endheaders()
            assert connection.getresponse().status == expected
        finally:
            connection.close()
    assert_still_serving(server)


@pytest.mark.parametrize("path", ["/nope", "/api", "/api/models", "/static/", "/static/missing.js",
                                  "/static/index.html/..", "/index.htm"])
def test_unknown_routes_are_404(server, path):
    status, _, answer = request(server, "GET", path)
    assert status == 404 and "error" in answer


@pytest.mark.parametrize("path", ["/static/../../etc/passwd", "/static/%2e%2e/%2e%2e/etc/passwd",
                                  "/static/..%2f..%2f..%2fetc%2fpasswd", "/static/%252e%252e/%252e%252e/etc/passwd",
                                  "/static/....//....//etc/passwd", "/static/..\\..\\etc\\passwd",
                                  "/../../../etc/passwd", "/static//etc/passwd", "/static/%2fetc%2fpasswd",
                                  "/static/../app.py", "/static/%2e%2e/server.py"])
def test_path_traversal_never_serves_the_file(server, path):
    status, body = raw_request(server, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    assert status in (403, 404)
    assert b"root:" not in body and b"import" not in body


@pytest.mark.parametrize("method, path, allowed", [
    ("GET", "/api/predict", "POST"), ("GET", "/api/explain", "POST"), ("POST", "/api/model", "GET"),
    ("PUT", "/api/model", "GET"), ("DELETE", "/api/samples", "GET"), ("PATCH", "/", "GET"),
    ("POST", "/static/explain.js", "GET"), ("OPTIONS", "/api/predict", "POST")])
def test_wrong_methods_are_405_with_allow(server, method, path, allowed):
    status, response, answer = request(server, method, path, b"{}" if method != "GET" else None)
    assert status == 405 and response.getheader("Allow") == allowed
    assert f"accepts {allowed}, not {method}" in answer["error"]


@pytest.mark.parametrize("body, status, message", [
    (b"{not json", 400, "not valid JSON"),
    (b"\xff\xfe", 400, "not valid JSON"),
    (b"[1, 2]", 400, "must be a JSON object"),
    (b'{"layer": "features.0"}', 400, "needs channel, y, x"),
    (b'{"layer": 3, "channel": 0, "y": 0, "x": 0}', 400, "layer must be a string"),
    (b'{"layer": "nope", "channel": 0, "y": 0, "x": 0}', 400, "Conv2d layers (features.0, features.3)"),
    (b'{"layer": "features.2", "channel": 0, "y": 0, "x": 0}', 400, "is a MaxPool2d"),
    (b'{"layer": "features.0", "channel": 6, "y": 0, "x": 0}', 400, "channel must be an int in 0..5"),
    (b'{"layer": "features.0", "channel": 0, "y": 28, "x": 0}', 400, "y must be an int in 0..27"),
    (b'{"layer": "features.0", "channel": 0, "y": 0, "x": 1.5}', 400, "x must be an int"),
    (b'{"layer": "features.0", "channel": true, "y": 0, "x": 0}', 400, "channel must be an int"),
    (b'{"layer": "features.0", "channel": 0, "y": 0, "x": 0, "image_id": "beef"}', 422, "unknown image_id"),
])
def test_bad_explain_requests(server, digit, body, status, message):
    request(server, "POST", "/api/predict", digit)
    got, _, answer = request(server, "POST", "/api/explain", body, {"Content-Type": "application/json"})
    assert got == status and message in answer["error"]
    assert_still_serving(server)


def test_a_foreign_host_header_is_refused(server):
    status, _, answer = request(server, "GET", "/api/model", headers={"Host": "evil.example:8000"})
    assert status == 403 and "not this server" in answer["error"]
    assert request(server, "GET", "/api/model", headers={"Host": f"localhost:{server.port}"})[0] == 200


def test_the_server_binds_loopback_by_default(server):
    assert server.server_address[0] == "127.0.0.1" and server.url == f"http://127.0.0.1:{server.port}/"


def test_a_busy_port_is_a_clear_error(server):
    with pytest.raises(OSError, match=rf"cannot listen on 127.0.0.1:{server.port} .* pick another --port"):
        ExplainServer(server.app, port=server.port)


def test_explain_command_parses_and_checks_the_port():
    from cnnlab.cli import build_parser

    args = build_parser().parse_args(["explain", "lenet5", "--port", "70000", "--no-browser"])
    assert args.model == "lenet5" and args.host == "127.0.0.1" and args.no_browser
    with pytest.raises(ValueError, match=r"--port must be in 0..65535, got 70000"):
        args.run(args)


def test_a_model_without_image_inputs_is_refused():
    with pytest.raises(ValueError, match=r"1- or 3-channel image models, but input_shape=\[2, 8, 8\]"):
        ExplainApp(models.create("lenet5", in_channels=2), {"input_shape": [2, 8, 8]})


# ------------------------------------------------------------------ limits
def serving(server):
    """Serve ``server`` in a thread until the block ends."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


def stop(server, thread):
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_an_image_over_the_pixel_cap_is_413_before_decoding(server, monkeypatch):
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda image: decoded.append(image.size))
    body = bomb_png(6300, 6300)  # 40 M pixels in a few KB: decoding it took the server to 372 MB
    assert len(body) < 150_000
    status, _, answer = request(server, "POST", "/api/predict", body)
    assert status == 413 and decoded == []
    assert answer["error"] == (f"cannot read the uploaded image: it has 6300x6300 = 39,690,000 pixels; the limit is "
                               f"{MAX_UPLOAD_PIXELS:,} (refused before decoding)")
    monkeypatch.undo()
    assert_still_serving(server)


def send_raw(port, data, timeout=10):
    """Send ``data`` on a new connection; ``(everything answered until the server closed, seconds taken)``."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(data)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return received, time.monotonic() - start


def test_a_body_that_never_arrives_is_408_and_closed(server):
    quick = ExplainServer(server.app, port=0, request_timeout=0.5)
    thread = serving(quick)
    try:
        head = (b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n")
        answer, seconds = send_raw(quick.port, head + b"x" * 100)
        status, _, body = answer.partition(b"\r\n")[0], None, answer.rpartition(b"\r\n\r\n")[2]
        assert status == b"HTTP/1.0 408 Request Timeout" and seconds < 5
        assert json.loads(body) == {"error": "the body did not arrive: 100 of 100,000 bytes in 0.5 seconds"}
        answer, seconds = send_raw(quick.port, b"GET /api/model HTTP/1.1\r\n")  # headers that never end
        assert answer == b"" and seconds < 5  # closed
        assert request(quick, "GET", "/api/model")[0] == 200
    finally:
        stop(quick, thread)


@pytest.mark.parametrize("body, status, message", [
    (b"[" * 5000 + b"]" * 5000, 400, "the JSON nests 5000 deep; the limit is 16"),
    (b'{"a":' * 3000 + b"1" + b"}" * 3000, 400, "the JSON nests 3000 deep; the limit is 16"),
    (b'{"layer": "[[[[[[[[[[[[[[[[[[[[[[[[[", "channel": 0, "y": 0, "x": 0}', 400, "Conv2d layers"),  # in a string
], ids=["deep arrays", "deep objects", "brackets in a string"])
def test_deep_or_large_json_is_refused(server, digit, body, status, message):
    request(server, "POST", "/api/predict", digit)
    got, _, answer = request(server, "POST", "/api/explain", body, {"Content-Type": "application/json"})
    assert got == status and message in answer["error"]
    assert_still_serving(server)


def test_a_large_json_body_is_413_before_it_is_read(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.putrequest("POST", "/api/explain")
        connection.putheader("Content-Length", "70000")
        connection.endheaders()  # no body sent: the answer comes from the header alone
        response = connection.getresponse()
        assert response.status == 413
        assert json.loads(response.read())["error"] == "the body is 70,000 bytes; the limit is 65,536"
    finally:
        connection.close()
    assert_still_serving(server)


def test_json_depth():
    assert [json_depth(text) for text in ("1", "{}", '[{"a": [1]}]', '"[[["', r'{"a\"[": [[]]}')] == [0, 1, 3, 0, 3]


def test_twenty_connections_at_once_are_all_served(server, digit):
    crowd = ExplainServer(server.app, port=0)  # listening, not yet accepting: connections queue
    sockets = [socket.create_connection(("127.0.0.1", crowd.port), timeout=2) for _ in range(20)]
    thread = serving(crowd)
    try:
        for index, connection in enumerate(sockets):
            if index % 2:
                connection.sendall(b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                                   b"Content-Length: " + str(len(digit)).encode() + b"\r\n\r\n" + digit)
            else:
                connection.sendall(b"GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        for connection in sockets:
            connection.settimeout(30)
            response = http.client.HTTPResponse(connection)
            response.begin()
            assert response.status == 200 and json.loads(response.read())
    finally:
        for connection in sockets:
            connection.close()
        stop(crowd, thread)
