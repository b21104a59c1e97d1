"""The what-if web application (Starlette) and the local server (uvicorn on 127.0.0.1)."""

from __future__ import annotations

import functools
import socket
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from sim.engine.runner import Executor, RunConfig
from sim.model import planmeta
from sim.model.entities import Plan
from sim.serve import api
from sim.serve.request import RequestError
from sim.serve.whatif import Base

STATIC = Path(__file__).with_name("static")
HOST = "127.0.0.1"  # local only: the page changes files in the scenarios directory


def create_app(base: Base) -> Starlette:
    """The application over a ready :class:`Base` (its base replications already simulated)."""
    handlers = api.Api(base)

    async def index(request) -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    async def font(request) -> Response:
        return Response(_font_css(base), media_type="text/css; charset=utf-8",
                        headers={"Cache-Control": "max-age=3600"})

    routes = [
        Route("/", index),
        Route("/font.css", font),
        Route("/api/meta", handlers.meta),
        Route("/api/whatif", handlers.whatif, methods=["POST"]),
        Route("/api/scenario", handlers.scenario, methods=["POST"]),
        Route("/api/scenario/save", handlers.save, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes, exception_handlers={
        RequestError: api.request_error, HTTPException: api.http_error, Exception: api.server_error})


def _font_css(base: Base) -> str:
    return _font_for(tuple(sorted(_page_text(base))))


@functools.lru_cache(maxsize=4)
def _font_for(chars: tuple[str, ...]) -> str:
    from sim.report.webfont import font_face_css

    return font_face_css("".join(chars))


def _page_text(base: Base) -> set[str]:
    """Every character the page can show: its own strings and the plan's zh names."""
    plan = base.plan
    text = [(STATIC / "app.js").read_text(encoding="utf-8")]
    for group in (plan.items, plan.targets, plan.risks, plan.shocks):
        text += [x.name_zh for x in group]
    text += [e.zh for e in planmeta.end_dates(plan)] + [x.zh for x in planmeta.sections(plan)]
    return set("".join(text))


@dataclass(frozen=True)
class ServeOptions:
    """What ``sim serve`` was asked for."""

    runs: int = 2000
    seed: int = 20200116
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
