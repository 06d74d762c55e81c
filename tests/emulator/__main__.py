"""Entry point: `python tests/emulator --host 127.0.0.1 --port 0`.

Contract: serves every emulated AWS service and the /_emulator/ control API on one port
(threaded werkzeug server, HTTP/1.1 keep-alive), then prints exactly one line
`EMULATOR_LISTENING port=<N>` to stdout and flushes. moto (S3, SNS, STS) is imported in a
background thread after that line, so start-up stays fast. Stops on SIGTERM / SIGINT.
"""
import argparse
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from werkzeug.serving import WSGIRequestHandler, make_server  # noqa: E402


class _Handler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_request(self, *args, **kwargs):
        pass

    def log_error(self, *args, **kwargs):
        pass


def main():
    ap = argparse.ArgumentParser(description="AWS emulator for sagemaker-rollout tests")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--no-warm", action="store_true", help="do not import moto in the background at start-up")
    args = ap.parse_args()
    import server
    srv = make_server(args.host, args.port, server.application, threaded=True, request_handler=_Handler)
    srv.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    print(f"EMULATOR_LISTENING port={srv.server_port}", flush=True)
    if not args.no_warm:
        import moto_forward
        threading.Thread(target=moto_forward.warm, daemon=True).start()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
