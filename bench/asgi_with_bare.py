"""ASGI entry point for benchmark servers: the product's application, on the bench settings
(`bench/settings.py`: the product's own, plus a bare async view at `/bench/bare/…` and a fast hasher)."""

import os

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

from contactcenter.asgi import application

__all__ = ["application"]
