#!/usr/bin/env python3
"""A tiny HTTP API to try the api_ping DAG against.

Run it on a worker host (it needs only Python 3):
    python3 sample_api.py --port 8000
Every GET answers JSON with a counter and the time, and is logged, so you can
watch the DAG call it once a minute.
"""

import argparse
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    calls = 0

    def do_GET(self):  # noqa: N802 (http.server's naming)
        Handler.calls += 1
        body = json.dumps({"status": "ok", "calls": Handler.calls, "time": time.time()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bind", default="0.0.0.0", help="address to listen on (default: all)")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.bind, args.port), Handler)
    print(f"sample API on http://{args.bind}:{args.port}/")
    server.serve_forever()


if __name__ == "__main__":
    main()
