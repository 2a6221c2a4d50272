"""`python main.py serve`: the project's model over an OpenAI-compatible API (see server.py)."""
from __future__ import annotations

import json
import sys
import time
from typing import Callable


def cmd_serve(args, report) -> tuple[dict, int]:
    from core.project import Project
    from core.serve import ServerHandle, api_key, served_models
    from core.serve.server import check_host, curl_line

    check_host(args.host, args.allow_remote, report)  # before anything is loaded or exported
    project = Project.open(args.project, create=False)
    models = served_models(project, args.run, report)
    key = api_key(project, rotate=args.new_key)
    handle = ServerHandle(models, key, args.host, args.port, args.allow_remote, report=report)
    started = time.time()
    url = handle.start()
    print(f"Serving {', '.join(models.names)} at {url}  (API key: {key})\nTry:\n  {curl_line(url, key, models.names[0])}"
          "\nCtrl-C stops the server.", file=sys.stderr, flush=True)
    if args.json:  # a client (the desktop app) learns the address before the server ends
        print(json.dumps({"event": "serving", "url": url, "models": models.names}), flush=True)
    try:
        handle.wait(lambda: args.cancel.cancelled)
    finally:
        handle.stop()
    return {"url": url, "models": models.names, "run": models.run, "seconds": round(time.time() - started, 1)}, 0


def add_serve_parser(command: Callable) -> None:
    """Register ``serve`` through the CLI's ``command(name, func, help)`` (adds --json/--quiet)."""
    p = command("serve", cmd_serve, "Serve the tuned model over an OpenAI-compatible API (chat/completions, "
                "streaming) on this computer; every request needs the project's API key")
    p.add_argument("--project", required=True, help="project folder")
    p.add_argument("--run", help="run folder name (default: the newest run with an adapter; none: the base model)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this computer only)")
    p.add_argument("--port", type=int, default=8765, help="port (default: 8765; 0: any free port)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow an address other computers can reach (the API key is still required)")
    p.add_argument("--new-key", action="store_true", help="replace the project's API key with a new one")
