"""JSON routes of the what-if page: every bad input is a 4xx JSON answer naming the field, never a traceback.

===========================  =======================================================
``GET  /api/meta``           the plan (items, targets, risks, shocks, scenarios) and the base results
``POST /api/whatif``         a what-if (:mod:`sim.serve.request`) -> targets, headline, what else slips
``POST /api/scenario``       ``{"whatif": {...}, "name": "..."}`` -> the scenario YAML (a download)
``POST /api/scenario/save``  the same, written to the scenarios directory as ``<name>.yaml`` (never
                             over an existing file: 409)
===========================  =======================================================

Errors are ``{"error": "<one line>", "issues": [{"field", "value", "message"}]}``
with status 400 (not JSON, not an object), 404, 405, 409, 413 or 422 (a field
that cannot be used).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import yaml
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sim.serve.request import Issue, RequestError, WhatIf, parse_request
from sim.serve.whatif import Base, end_date_labels

MAX_BODY_BYTES = 256 * 1024
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def clean(value: Any) -> Any:
    """JSON-safe: NaN and infinities become null, numpy scalars plain numbers."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, float) or hasattr(value, "item"):
        try:
            value = value.item() if hasattr(value, "item") else value
        except (TypeError, ValueError):
            return value
        if isinstance(value, float) and not math.isfinite(value):
            return None
    return value


def error_response(exc: RequestError) -> JSONResponse:
    return JSONResponse({"error": exc.message, "error_zh": exc.message_zh,
                         "issues": [i.as_dict() for i in exc.issues]}, status_code=exc.status)


async def read_json(request: Request) -> Any:
    """The request body as JSON, or a 400/413 RequestError saying what is wrong with it."""
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise RequestError([Issue("", f"{len(body)} bytes", f"the request is larger than {MAX_BODY_BYTES} bytes",
                                  f"请求超过 {MAX_BODY_BYTES} 字节")],
                           status=413)
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise RequestError([Issue("", "", "the request body is not UTF-8 text", "请求不是 UTF-8 文本")],
                           status=400) from None
    except json.JSONDecodeError as exc:
        raise RequestError([Issue("", "", f"the request is not valid JSON: {exc.msg} at line {exc.lineno} "
                                          f"column {exc.colno}",
                                  f"请求不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列）")], status=400) from None


def _key(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


class Api:
    """The route handlers over one :class:`Base`."""

    def __init__(self, base: Base) -> None:
        self.base = base

    async def meta(self, request: Request) -> JSONResponse:
        return JSONResponse(await run_in_threadpool(meta, self.base))

    async def whatif(self, request: Request) -> JSONResponse:
        data = await read_json(request)
        whatif = parse_request(data, self.base.plan, scenarios=self.base.scenarios)
        result = await run_in_threadpool(self.base.evaluate, whatif, _key(data))
        return JSONResponse(clean(result))

    async def _scenario_request(self, request: Request) -> tuple[WhatIf, str]:
        data = await read_json(request)
        if not isinstance(data, dict):
            raise RequestError([Issue("", str(data)[:80], "the request must be a JSON object {whatif, name}",
                                      "请求应为 JSON 对象 {whatif, name}")],
                               status=400)
        unknown = sorted(set(data) - {"whatif", "name"})
        if unknown:
            raise RequestError([Issue(unknown[0], unknown[0], "unknown field; use whatif and name",
                                      "未知字段；可用 whatif 和 name")])
        whatif = parse_request(data.get("whatif", {}), self.base.plan, scenarios=self.base.scenarios)
        name = data.get("name") or "what-if"
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise RequestError([Issue("name", str(name), "a scenario name is letters, digits, '-', '_' or '.' "
                                                        "(at most 64), starting with a letter or digit",
                                      "情景名称只能由字母、数字、'-'、'_'、'.' 组成（最多 64 个），以字母或数字开头")])
        if whatif.empty:
            raise RequestError([Issue("whatif", "", "nothing to save: slip an item, pick a scenario or switch "
                                                    "a risk first", "没有可保存的内容：请先设置延误、情景或风险开关")])
        await run_in_threadpool(self.base.whatif_plan, whatif)  # a plan that does not apply is not saved
        return whatif, name

    async def scenario(self, request: Request) -> Response:
        whatif, name = await self._scenario_request(request)
        text = scenario_yaml(whatif, self.base, name=name)
        return Response(text, media_type="application/x-yaml; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.yaml"'})

    async def save(self, request: Request) -> JSONResponse:
        whatif, name = await self._scenario_request(request)
        folder = self.base.scenarios_dir
        if folder is None or not folder.is_dir():
            raise RequestError([Issue("name", name, "no scenarios directory to save into (start sim serve with "
                                                    "--scenarios DIR)", "没有可保存的情景目录（启动时用 --scenarios DIR）")],
                               status=409)
        path = folder / f"{name}.yaml"
        if not write_new(path, scenario_yaml(whatif, self.base, name=name)):
            raise RequestError([Issue("name", name, f"{path} already exists; pick another name "
                                                    "(sim serve never overwrites a file)",
                                      f"{path} 已存在，请换一个名称（不会覆盖已有文件）")], status=409)
        self.base.scenario_files[name] = path
        return JSONResponse({"saved": str(path), "name": name})


def meta(base: Base) -> dict[str, Any]:
    """The plan (items, risks, shocks, scenarios, end dates) and the base results, as the page starts from."""
    plan = base.plan
    result = base.evaluate(WhatIf(), _key({}))
    return clean({
        "label": base.label, "runs": int(base.base.met.shape[0]), "seed": base.config.seed,
        "as_of": plan.as_of.isoformat(), "end_dates": end_date_labels(plan),
        "items": [{"id": it.id, "name_zh": it.name_zh, "name_en": it.name_en, "status": str(it.status),
                   "plan_finish": it.plan_finish.isoformat()} for it in plan.items],
        "risks": [{"id": r.id, "name_zh": r.name_zh, "name_en": r.name_en, "probability": r.probability}
                  for r in plan.risks if not r.id.startswith("slip.")],
        "shocks": [{"id": s.id, "name_zh": s.name_zh, "name_en": s.name_en, "probability": s.probability}
                   for s in plan.shocks],
        "scenarios": [{"name": n, "description": _description(p)} for n, p in base.scenario_files.items()],
        "base": result,
    })


def _description(path: Path) -> str:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, ValueError, yaml.YAMLError):
        return ""
    text = data.get("description", "") if isinstance(data, dict) else ""
    return " ".join(str(text).split())[:300]


def scenario_yaml(whatif: WhatIf, base: Base, *, name: str) -> str:
    """The what-if as a scenario file (scenarios/README.md): ``extends`` its scenario, then its overlay."""
    data: dict[str, Any] = {"description": whatif.description or describe(whatif)}
    if whatif.scenario:
        data["extends"] = f"{whatif.scenario}.yaml"
    data.update(whatif.overlay())
    head = [f"# {name}: a what-if saved by `sim serve` on {dt.date.today().isoformat()}",
            f"# base: {base.label or 'params'}; {base.config.runs} replications, seed {base.config.seed}",
            "# keep it in the scenarios directory (extends is relative to this file); run it with",
            f"#   sim run scenarios/{name}.yaml"]
    return "\n".join(head) + "\n" + yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def describe(whatif: WhatIf) -> str:
    """One line saying what the what-if changes."""
    parts = [f"{s.item} slips {s.spelled if isinstance(s.spelled, str) else f'{s.days:g} days'}"
             for s in whatif.slips]
    if whatif.scenario:
        parts.insert(0, f"on top of {whatif.scenario}")
    parts += [f"risk {rid} {state}" for rid, state in whatif.risks]
    parts += [f"shock {sid} {state}" for sid, state in whatif.shocks]
    return "What-if: " + "; ".join(parts)


def write_new(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` whole (staged, then linked into place); False if ``path`` exists."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        try:
            os.link(tmp, path)  # fails when the file exists: never replaces one
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(tmp)


async def request_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestError)
    return error_response(exc)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    what = {404: f"no such page or route: {request.url.path}",
            405: f"{request.method} is not allowed on {request.url.path}"}.get(exc.status_code, str(exc.detail))
    return JSONResponse({"error": what, "error_zh": what, "issues": []}, status_code=exc.status_code)


async def server_error(request: Request, exc: Exception) -> JSONResponse:
    # a fault of ours, not of the request: one line, no traceback sent to the page
    line = f"internal error ({type(exc).__name__}): {exc}".strip()[:300]
    return JSONResponse({"error": line, "error_zh": "服务器内部错误：" + line, "issues": []}, status_code=500)
