"""What every fake here shares: an HTTP server on 127.0.0.1 at a free port, served from
a daemon thread, and a request handler that logs nothing.

A fake sets its own state, then calls `self._listen()` (which builds the server with
`self._handler()`, the fake's handler class); tests call `start()` and `stop()` and
point the client at `origin` (no trailing slash) or `endpoint` (with it).
"""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoopbackService:
    server_class = ThreadingHTTPServer  # a fake that wants a longer listen queue gives its own

    def _handler(self):
        raise NotImplementedError

    def _listen(self):
        self.server = self.server_class(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def origin(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def endpoint(self):
        return f"{self.origin}/"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class QuietHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, data, content_type):
        """One whole answer: the status, its Content-Type and Content-Length, the body."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
