"""The explainer's HTTP server: static page, JSON API, careful with what it is sent.

Routes (JSON answers; errors are ``{"error": message}`` with the status):

=======  ================  ====================================================
GET      /                 the page (static/index.html)
GET      /static/NAME      the page's files (only those shipped, nothing else)
GET      /api/model        name, input shape, classes, notice, layers
GET      /api/samples      sample images as PNG data URLs
POST     /api/predict      body: the image file's bytes -> probabilities, maps
POST     /api/explain      body: {"layer", "channel", "y", "x", "image_id"}
=======  ================  ====================================================

Bad requests get 400 (not an image, bad JSON, JSON nested over
:data:`MAX_JSON_DEPTH` deep), 403 (a Host header that is not this server's:
DNS-rebinding protection), 404, 405 (with ``Allow``), 408 (a body that has
not arrived ``request_timeout`` seconds after the headers), 411 (no
Content-Length), 413 (a body over ``max_body`` bytes, refused before it is
read, or an image of more pixels than the app's ``max_pixels``, refused
before it is decoded) or 422 (a valid request about something that does not
exist); the server keeps serving after each.
"""
import json
import mimetypes
import os
import socket
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from ..data.images import ImageTooLarge

STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
MAX_BODY = 5 * 1024 * 1024
MAX_JSON_BODY = 64 * 1024  # /api/explain asks about one value: a few dozen bytes
MAX_JSON_DEPTH = 16  # arrays and objects in arrays and objects: parsing deeper JSON recurses without bound
REQUEST_TIMEOUT = 30  # seconds for each read from a client, and for a whole request body
LOOPBACK = ("127.0.0.1", "localhost", "::1")
CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


def static_files():
    """``{url name: file path}`` of the files shipped in ``static/``: the only files the server will send."""
    return {entry.name: entry.path for entry in os.scandir(STATIC_DIR) if entry.is_file()
            and not entry.name.startswith(".")}


class ExplainServer(ThreadingHTTPServer):
    """A threading HTTP server holding an :class:`~cnnlab.explain.app.ExplainApp`.

    Args:
        app: the ExplainApp to serve.
        host: the address to bind; 127.0.0.1 (this machine only) by default.
        port: the port; 0 picks a free one (read it back from ``server.port``).
        max_body: the largest request body accepted, in bytes.
        log: a file for one line per request, or None for silence.
        request_timeout: seconds a client may be silent, and may take to send a body, before 408 and closing.
    """

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64  # connections waiting to be accepted: a page loads several files at once

    def __init__(self, app, host="127.0.0.1", port=8000, max_body=MAX_BODY, log=None,
                 request_timeout=REQUEST_TIMEOUT):
        self.app, self.max_body, self.log, self.request_timeout = app, max_body, log, request_timeout
        self.static = static_files()
        self.lock = threading.Lock()  # the model's forward hooks are per-module state: one pass at a time
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            super().__init__((host, port), ExplainHandler)
        except OSError as error:
            raise OSError(f"cannot listen on {host}:{port} ({error.strerror or error}); "
                          f"pick another --port (0 picks a free one)") from None

    @property
    def port(self):
        return self.server_address[1]

    @property
    def url(self):
        host = self.server_address[0]
        return f"http://{'[' + host + ']' if ':' in host else host}:{self.port}/"


class HTTPError(Exception):
    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


class ExplainHandler(BaseHTTPRequestHandler):
    """Routes one request; every error is a JSON answer with the right status."""

    server_version = "cnnlab-explain"
    sys_version = ""

    ROUTES = {"/": {"GET": "page"}, "/index.html": {"GET": "page"}, "/api/model": {"GET": "model"},
              "/api/samples": {"GET": "samples"}, "/api/predict": {"POST": "predict"},
              "/api/explain": {"POST": "explain"}}

    def setup(self):
        self.timeout = self.server.request_timeout  # the socket timeout of every read and write on this connection
        super().setup()

    def do_GET(self):
        self.handle_method("GET")

    def do_POST(self):
        self.handle_method("POST")

    def do_PUT(self):
        self.handle_method("PUT")

    def do_DELETE(self):
        self.handle_method("DELETE")

    def do_PATCH(self):
        self.handle_method("PATCH")

    def do_HEAD(self):
        self.handle_method("HEAD")

    def do_OPTIONS(self):
        self.handle_method("OPTIONS")

    def handle_method(self, method):
        try:
            self.check_host()
            parts = urlsplit(self.path)
            path = unquote(parts.path)
            if path.startswith("/static/"):
                allowed, action = {"GET": "static"}, "static"
            else:
                allowed = self.ROUTES.get(path)
                if allowed is None:
                    raise HTTPError(HTTPStatus.NOT_FOUND, f"no such page or API: {parts.path}")
                action = allowed.get(method)
            if method not in allowed:
                raise HTTPError(HTTPStatus.METHOD_NOT_ALLOWED, f"{parts.path} accepts {', '.join(allowed)}, "
                                f"not {method}", {"Allow": ", ".join(allowed)})
            getattr(self, f"route_{action}")(path, parse_qs(parts.query))
        except HTTPError as error:
            self.send_json({"error": error.message}, error.status, error.headers)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception as error:  # a bug, not the client's fault: say so, keep serving
            self.send_json({"error": f"internal error: {type(error).__name__}: {error}"},
                           HTTPStatus.INTERNAL_SERVER_ERROR)

    def check_host(self):
        """Refuse Host headers naming another site (a DNS-rebinding page) when bound to loopback."""
        bound = self.server.server_address[0]
        if bound not in ("127.0.0.1", "::1"):
            return
        host = (self.headers.get("Host") or "").strip().lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if name.strip("[]") not in LOOPBACK:
            raise HTTPError(HTTPStatus.FORBIDDEN, f"Host {host!r} is not this server (use {self.server.url})")

    # ------------------------------------------------------------ routes
    def route_page(self, path, query):
        self.send_file(self.server.static["index.html"])

    def route_static(self, path, query):
        name = path[len("/static/"):]
        if name not in self.server.static:  # also refuses '../..', encoded or not: names are exact
            raise HTTPError(HTTPStatus.NOT_FOUND, f"no such file: {self.path}")
        self.send_file(self.server.static[name])

    def route_model(self, path, query):
        self.send_json(self.server.app.model_json())

    def route_samples(self, path, query):
        self.send_json(self.server.app.samples_json())

    def route_predict(self, path, query):
        invert = {"auto": "auto", "1": True, "true": True, "yes": True, "0": False, "false": False,
                  "no": False}.get(query.get("invert", ["auto"])[-1].lower())
        if invert is None:
            raise HTTPError(HTTPStatus.BAD_REQUEST, "invert must be auto, 1 or 0")
        body = self.read_body()
        if not body:
            raise HTTPError(HTTPStatus.BAD_REQUEST, "the body is empty: POST the image file's bytes")
        try:
            with self.server.lock:
                result = self.server.app.predict(body, invert=invert)
        except ImageTooLarge as error:
            raise HTTPError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, str(error)) from None
        except ValueError as error:
            raise HTTPError(HTTPStatus.BAD_REQUEST, str(error)) from None
        self.send_json(result)

    def route_explain(self, path, query):
        body = self.read_body(min(self.server.max_body, MAX_JSON_BODY))
        try:
            text = body.decode("utf-8")
            depth = json_depth(text)
            if depth > MAX_JSON_DEPTH:
                raise HTTPError(HTTPStatus.BAD_REQUEST, f"the JSON nests {depth} deep; the limit is {MAX_JSON_DEPTH}")
            request = json.loads(text)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise HTTPError(HTTPStatus.BAD_REQUEST, f"the body is not valid JSON: {error}") from None
        try:
            with self.server.lock:
                result = self.server.app.explain(request)
        except LookupError as error:
            raise HTTPError(HTTPStatus.UNPROCESSABLE_ENTITY, str(error).strip("'\"")) from None
        except ValueError as error:
            raise HTTPError(HTTPStatus.BAD_REQUEST, str(error)) from None
        self.send_json(result)

    # ----------------------------------------------------------- helpers
    def read_body(self, limit=None):
        """The body: 411, 413 (over ``limit``, default ``max_body``) or 400 before reading it, 408 if it is slow."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            raise HTTPError(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length, not chunked")
        length = self.headers.get("Content-Length")
        if length is None:
            raise HTTPError(HTTPStatus.LENGTH_REQUIRED, "a Content-Length header is required")
        try:
            size = int(length)
            if size < 0:
                raise ValueError
        except ValueError:
            raise HTTPError(HTTPStatus.BAD_REQUEST, f"Content-Length must be a byte count, got {length!r}") from None
        limit = self.server.max_body if limit is None else limit
        if size > limit:
            self.close_connection = True  # the unread body must not be taken for the next request
            raise HTTPError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"the body is {size:,} bytes; the limit is {limit:,}")
        body = self.read_exactly(size)
        if len(body) != size:
            raise HTTPError(HTTPStatus.BAD_REQUEST, f"the body ended after {len(body)} of {size} bytes")
        return body

    def read_exactly(self, size):
        """Up to ``size`` body bytes (fewer if the client closes); 408 when they take over ``request_timeout``."""
        timeout = self.server.request_timeout
        deadline = time.monotonic() + timeout
        chunks, received = [], 0
        try:
            while received < size:
                if time.monotonic() > deadline:
                    raise TimeoutError
                chunk = self.rfile.read1(min(size - received, 1 << 16))
                if not chunk:
                    break
                chunks.append(chunk)
                received += len(chunk)
        except TimeoutError:
            self.close_connection = True  # the rest of the body may still come: it must not be read as a request
            raise HTTPError(HTTPStatus.REQUEST_TIMEOUT, f"the body did not arrive: {received:,} of {size:,} bytes "
                            f"in {timeout:g} seconds") from None
        return b"".join(chunks)

    def send_json(self, payload, status=HTTPStatus.OK, headers=None):
        data = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode("utf-8")
        self.send_bytes(data, "application/json; charset=utf-8", status, headers)

    def send_file(self, path):
        with open(path, "rb") as file:
            data = file.read()
        kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/javascript",):
            kind += "; charset=utf-8"
        self.send_bytes(data, kind)

    def send_bytes(self, data, content_type, status=HTTPStatus.OK, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", CSP)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, format, *args):
        if self.server.log is not None:
            self.server.log.write(f"{self.address_string()} {format % args}\n")
            self.server.log.flush()


def json_depth(text):
    """How deeply arrays and objects nest in JSON ``text``, brackets inside strings aside: ``'[{"a": [1]}]'`` is 3."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            in_string = escaped or char != '"'
            escaped = not escaped and char == "\\"
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def serve(source, host="127.0.0.1", port=8000, open_browser=True, log=sys.stderr):
    """Serve the explainer page for ``source`` (a model file or zoo name) until Ctrl+C."""
    from .app import ExplainApp

    app = ExplainApp.from_source(source)
    server = ExplainServer(app, host, port, log=log)
    if app.notice:
        print(f"note: {app.notice}")
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {host}: other machines on your network can reach this page")
    print(f"cnnlab explain: {app.name} at {server.url}  (Ctrl+C to stop)", flush=True)
    if open_browser:
        import webbrowser

        threading.Timer(0.5, webbrowser.open, args=(server.url,)).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped")
    finally:
        server.server_close()
    return 0
