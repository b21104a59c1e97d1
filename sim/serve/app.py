"""The what-if web application (Starlette) and the local server (uvicorn on 127.0.0.1)."""

from __future__ import annotations

import functools
import inspect
import json
import socket
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse
from starlette.routing import Route

from sim.engine.options import DEFAULT_SEED
from sim.engine.runner import Executor, RunConfig
from sim.model.entities import Plan
from sim.serve import api
from sim.serve.request import RequestError
from sim.serve.whatif import Base

STATIC = Path(__file__).with_name("static")
HOST = "127.0.0.1"  # local only: the page changes files in the scenarios directory


def create_app(base: Base) -> Starlette:
    """The application over a ready :class:`Base` (its base replications already simulated)."""
    handlers = api.Api(base)

    async def index(request) -> HTMLResponse:
        text = await run_in_threadpool(render_page, base)
        return HTMLResponse(text)

    routes = [
        Route("/", index),
        Route("/api/meta", handlers.meta),
        Route("/api/whatif", handlers.whatif, methods=["POST"]),
        Route("/api/scenario", handlers.scenario, methods=["POST"]),
        Route("/api/scenario/save", handlers.save, methods=["POST"]),
    ]
    return Starlette(routes=routes, exception_handlers={
        RequestError: api.request_error, HTTPException: api.http_error, Exception: api.server_error})


def render_page(base: Base) -> str:
    """The page in the report's template (:func:`sim.report.html.page`), with the plan and base embedded.

    The embedded JSON carries every name the page can show and the characters of
    the server's Chinese messages, so the template's subset web font holds every
    Chinese glyph the page needs.
    """
    data = {**api.meta(base), "glyphs": _message_glyphs()}
    key = json.dumps(data, sort_keys=True, ensure_ascii=False)
    return _render(key)


@functools.lru_cache(maxsize=1)
def _message_glyphs() -> str:
    """The Chinese characters of the server's own messages (errors come later, as JSON), for the font subset."""
    from sim.report.webfont import cjk_characters
    from sim.serve import request, whatif

    return cjk_characters("".join(Path(inspect.getfile(m)).read_text(encoding="utf-8") for m in (api, request, whatif)))


@functools.lru_cache(maxsize=4)
def _render(meta_json: str) -> str:
    from sim.report.html import page

    body = (STATIC / "body.html").read_text(encoding="utf-8")
    embedded = meta_json.replace("</", "<\\/")  # no "</script>" inside the JSON
    body += f'<script type="application/json" id="meta">{embedded}</script>'
    return page("计划延误推演 What-if", body, "zh", css=(STATIC / "style.css").read_text(encoding="utf-8"),
                script=(STATIC / "app.js").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class ServeOptions:
    """What ``sim serve`` was asked for."""

    runs: int = 2000
    seed: int = DEFAULT_SEED
    port: int = 0  # 0: a free port
    scenarios_dir: Path | None = Path("scenarios")


def make_base(plan: Plan, options: ServeOptions, *, label: str) -> Base:
    """Simulate the base replications once (in this process: a what-if is then a single run)."""
    config = RunConfig(runs=options.runs, seed=options.seed, workers=1, executor=Executor.INLINE)
    return Base(plan, config, scenarios_dir=options.scenarios_dir, label=label)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def serve(base: Base, *, port: int, on_ready=None) -> None:
    """Run the server on 127.0.0.1:``port`` until interrupted."""
    import uvicorn

    config = uvicorn.Config(create_app(base), host=HOST, port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    if on_ready is not None:
        on_ready(f"http://{HOST}:{port}/")
    server.run()
