"""ASGI path svc.api:application, health /healthz; says which project layout it came from."""

from pathlib import Path

from fastapi import FastAPI

application = FastAPI(title="svc")
LAYOUT = (Path(__file__).resolve().parents[1] / "LAYOUT").read_text().strip()


@application.get("/healthz")
def healthz() -> dict[str, str]:
    return {"app": "svc", "layout": LAYOUT}
