"""The codec server: the Temporal UI's remote codec protocol over our encryption codec.

The UI (or `temporal workflow show --codec-endpoint`) POSTs `{"payloads": [...]}` — payloads in
protobuf JSON form — to `/decode` to show a history in clear, and to `/encode` for what an
operator types (a signal's input). The browser calls it directly from the UI's page, so it
answers CORS preflights for the UI's origin only. With a token (PAYOUTS_CODEC_TOKEN), every call
must carry `Authorization: Bearer <token>`: the UI sends it when its codec settings say so
("Pass access token"), or a proxy in front adds it. Payloads that are not encrypted pass
through unchanged, so histories written before encryption was enabled still show.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence

import structlog
from fastapi import FastAPI, Request, Response
from google.protobuf import json_format
from starlette.middleware.cors import CORSMiddleware
from temporalio.api.common.v1 import Payload, Payloads

from calypso import wire
from starter.service.encryption import EncryptionCodec, UnknownEncryptionKeyError

log = structlog.get_logger()
DEFAULT_PORT = 8888
Transform = Callable[[Sequence[Payload]], Awaitable[list[Payload]]]


def create_codec_app(
    codec: EncryptionCodec, ui_origins: Sequence[str], token: str | None
) -> FastAPI:
    """The codec server's app; `ui_origins` may call it from a browser (CORS)."""
    app = FastAPI(title="Payouts codec server", docs_url=None, redoc_url=None)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[origin.rstrip("/") for origin in ui_origins],
        allow_methods=["POST"],
        allow_headers=["content-type", "x-namespace", "authorization"],
        allow_credentials=True,
        max_age=600,
    )

    @app.get("/healthz")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/encode")
    async def encode(request: Request) -> Response:
        return await _transform(request, token, codec.encode, "encode")

    @app.post("/decode")
    async def decode(request: Request) -> Response:
        return await _transform(request, token, codec.decode, "decode")

    return app


async def _transform(
    request: Request, token: str | None, transform: Transform, op: str
) -> Response:
    if token is not None and not _authorized(request, token):
        log.warning("codec.unauthorized", op=op, namespace=request.headers.get("x-namespace"))
        return _answer(401, {"error": "missing or wrong bearer token"})
    try:
        payloads = json_format.Parse(await request.body(), Payloads(), ignore_unknown_fields=True)
    except json_format.ParseError as error:
        return _answer(400, {"error": f"body is not {{'payloads': [...]}}: {error}"})
    try:
        result = await transform(list(payloads.payloads))
    except UnknownEncryptionKeyError as error:
        log.warning("codec.unknown_key", op=op, key_id=error.key_id)
        return _answer(400, {"error": str(error)})
    except ValueError as error:
        return _answer(400, {"error": str(error)})
    body = json_format.MessageToJson(Payloads(payloads=result))
    return Response(content=body, status_code=200, media_type="application/json")


def _authorized(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


def _answer(status: int, body: dict[str, str]) -> Response:
    return Response(content=wire.dumps(body), status_code=status, media_type="application/json")
