"""The web explorable and JSON API (FastAPI)."""
