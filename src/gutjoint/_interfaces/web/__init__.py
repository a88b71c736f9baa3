"""The web explorable and JSON API (FastAPI): the ``web`` extra."""

from gutjoint._errors import require

for _module in ("fastapi", "uvicorn", "orjson"):
    require(_module, "web")
