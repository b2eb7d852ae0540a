"""The web console: admin, analyst and PR pages and a JSON API, over the daemon's
database. Nothing outside web/ and tests/ imports it: the CLI starts it with
uvicorn's import string ``web.app:create_app`` (see monitor/cli/web.py)."""
