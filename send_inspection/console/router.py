"""The console's routes, as one FastAPI router the web app mounts."""

from __future__ import annotations

import jinja2
from fastapi import APIRouter

from send_inspection.console.guard import Console, Pages
from send_inspection.console.pages import console_routes
from send_inspection.console.sign_in_pages import sign_in_routes


def console_router(console: Console, templates: jinja2.Environment) -> APIRouter:
    """Return the router of the console's sign-in, its pages and its actions."""
    router = APIRouter()
    pages = Pages(console, templates)
    sign_in_routes(router, pages)
    console_routes(router, pages)
    return router
