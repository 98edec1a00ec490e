"""The smallest FastAPI service with its own module path and health path."""

from fastapi import FastAPI

application = FastAPI(title="hello")


@application.get("/healthz")
def healthz() -> dict[str, str]:
    return {"hello": "world", "app": "hello"}
