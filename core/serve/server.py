"""The local OpenAI-compatible server: a project's base, tuned (adapter) and merged GGUF models.

Built on llama-cpp-python's own server (FastAPI + uvicorn + sse-starlette), so chat clients,
editor plugins and scripts that speak the OpenAI API work unchanged, streaming included. We add
what a desktop app owes its user:

* **Which models**: ``tuned`` (the base GGUF with the run's adapter GGUF; exported on first
  use), ``base`` (the same file without it) and ``merged`` when a merged export exists. The
  request's ``model`` field picks one (llama-cpp-python loads one at a time and swaps); an
  unknown name gets the default, which is ``tuned`` when there is a run.
* **A key on every request**: the per-project key (keys.py) as a Bearer token; without it 401.
* **Loopback only** unless the caller passes ``allow_remote`` (CLI ``--allow-remote``): binding
  to another address puts the model on the network, so it must be asked for, and it warns.

The chat template is the GGUF's own (llama-cpp-python reads ``tokenizer.chat_template``), which
for the formats trained on the base's template is the one the run was trained with.
"""
from __future__ import annotations

import ipaddress
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from core.events import Reporter, StageReporter
from core.project import Project

DEFAULT_PORT = 8765


class ServeError(RuntimeError):
    """The server cannot start as asked; the message says why and what to do."""


@dataclass
class ServedModels:
    base_gguf: str
    adapter_gguf: str | None = None
    merged_gguf: str | None = None
    run: str | None = None

    @property
    def names(self) -> list[str]:
        """Model names a request can ask for, the default first."""
        names = (["tuned"] if self.adapter_gguf else []) + ["base"]
        return names + (["merged"] if self.merged_gguf else [])


def check_host(host: str, allow_remote: bool, report: Reporter | None = None) -> None:
    """Loopback addresses only, unless the user explicitly allowed another one (then a warning)."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback:
        return
    if not allow_remote:
        raise ServeError(f"{host} is not this computer only: other machines could reach the model. Serve on "
                         "127.0.0.1, or pass --allow-remote (the API key still guards every request)")
    StageReporter(report, "serve").warning(
        f"Serving on {host}: anyone on your network who has the API key can use this model")


def served_models(project: Project, run: str | None = None, report: Reporter | None = None) -> ServedModels:
    """The GGUF files to serve for ``run`` (default: the newest run; none at all: the base model alone)."""
    import json

    from core.models import resolve
    from core.project import ProjectError

    try:
        run_dir = project.run_dir(run)
    except ProjectError:
        if run is not None:
            raise
        run_dir = None  # nothing trained yet: the base model alone
    if run_dir is None:
        resolved = resolve(project.model.source, report)
        if not resolved.gguf_path:
            raise ServeError(f"the base model {resolved.name} has no GGUF file to serve; train a run and export it, "
                             "or choose a GGUF base model")
        return ServedModels(base_gguf=resolved.gguf_path)
    info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    if info.get("kind") == "scratch":
        raise ServeError(f"run {run_dir.name} is a model trained from scratch (a lab experiment); only runs with an "
                         "adapter can be served")
    export = project.root / "exports" / run_dir.name
    if not (export / "adapter.gguf").exists() or not (export / "base.txt").exists():
        from core.export.job import export_run
        StageReporter(report, "serve").log(f"Exporting run {run_dir.name}'s adapter to GGUF first…")
        export_run(project, run_dir.name, "adapter", verify=False, report=report)
    base = (export / "base.txt").read_text(encoding="utf-8").strip()
    local = sorted(export.glob("base-*.gguf"))
    if not Path(base).exists() and local:
        base = str(local[0])  # the original moved (a rebuilt venv): the export's own copy
    merged = sorted(export.glob("merged-*.gguf"))
    return ServedModels(base_gguf=base, adapter_gguf=str(export / "adapter.gguf"),
                        merged_gguf=str(merged[0]) if merged else None, run=run_dir.name)


def curl_line(url: str, key: str, model: str = "tuned") -> str:
    body = ('{"model": "%s", "messages": [{"role": "user", "content": "Hello!"}], "stream": true}' % model)
    return (f"curl {url}/chat/completions -H \"Authorization: Bearer {key}\" "
            f"-H \"Content-Type: application/json\" -d '{body}'")


class ServerHandle:
    """One llama-cpp-python server in a background thread of this process (one per process:
    its settings are module globals). ``start()`` returns once it answers; ``stop()`` ends it."""

    def __init__(self, models: ServedModels, key: str, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                 allow_remote: bool = False, n_ctx: int = 2048, report: Reporter | None = None) -> None:
        check_host(host, allow_remote, report)
        self.models, self.key, self.host, self.port, self.n_ctx = models, key, host, port, n_ctx
        self._server = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    def _app(self):
        from llama_cpp.server.app import create_app
        from llama_cpp.server.settings import ModelSettings, ServerSettings

        def model(path: str, alias: str, lora: str | None = None) -> ModelSettings:
            return ModelSettings(model=path, model_alias=alias, lora_path=lora, n_ctx=self.n_ctx, verbose=False)

        settings = []
        if self.models.adapter_gguf:
            settings.append(model(self.models.base_gguf, "tuned", self.models.adapter_gguf))
        settings.append(model(self.models.base_gguf, "base"))
        if self.models.merged_gguf:
            settings.append(model(self.models.merged_gguf, "merged"))
        server = ServerSettings(host=self.host, port=self.port, api_key=self.key)
        return create_app(server_settings=server, model_settings=settings)

    def start(self, timeout: float = 120.0) -> str:
        import uvicorn

        try:
            app = self._app()
        except ValueError as exc:  # llama.cpp could not load a file
            raise ServeError(f"the model could not be loaded: {exc}") from exc
        config = uvicorn.Config(app, host=self.host, port=self.port, log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)

        def serve() -> None:
            try:
                self._server.run()
            except BaseException as exc:  # noqa: BLE001 — reported by start()
                self._error = exc

        self._thread = threading.Thread(target=serve, name="scriptorium-serve", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if self._error is not None or not self._thread.is_alive():
                # uvicorn exits (SystemExit) when it cannot bind: almost always another program on the port
                reason = self._error if self._error and not isinstance(self._error, SystemExit) else \
                    "is another program using this port? Choose another one"
                raise ServeError(f"the server did not start on {self.host}:{self.port} ({reason})")
            if time.monotonic() > deadline:
                self.stop()
                raise ServeError(f"the server did not start within {timeout:.0f} s")
            time.sleep(0.05)
        if self.port == 0:  # the system picked a free port
            self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self.url

    def wait(self, cancelled) -> None:
        """Block until ``cancelled()`` says stop or the server ends by itself."""
        while self._thread is not None and self._thread.is_alive() and not cancelled():
            time.sleep(0.2)

    def stop(self, timeout: float = 30.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        try:
            from llama_cpp.server import app as server_app
            proxy = getattr(server_app, "_llama_proxy", None)
            if proxy is not None:
                proxy.free()
                server_app._llama_proxy = None
        except Exception:  # noqa: BLE001 — freeing memory at exit is best effort
            pass
