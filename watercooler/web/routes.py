"""Every route of the web pages, in the order they are tried (wired in watercooler/app.py)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from watercooler.web import actions as status_actions
from watercooler.web import announcements as announcement_pages
from watercooler.web import communities as community_pages
from watercooler.web import compose, sign_in, static, timelines
from watercooler.web import deleting as deleting_pages
from watercooler.web import directory as directory_pages
from watercooler.web import exports as export_pages
from watercooler.web import kept as kept_pages
from watercooler.web import moving as moving_pages
from watercooler.web import notifications as notification_pages
from watercooler.web import polls as poll_pages
from watercooler.web import profiles as profile_pages
from watercooler.web import questions as question_pages
from watercooler.web import reports as report_pages
from watercooler.web import search as search_pages
from watercooler.web import settings as settings_pages
from watercooler.web import sso as sso_pages

routes: list[BaseRoute] = [
    *static.routes,
    *sign_in.routes,
    *sso_pages.routes,
    *compose.routes,
    *timelines.routes,
    *settings_pages.routes,
    *export_pages.routes,
    *moving_pages.routes,
    *notification_pages.routes,
    *search_pages.routes,
    *directory_pages.routes,
    *community_pages.routes,
    *kept_pages.routes,
    *question_pages.routes,
    *deleting_pages.routes,
    *status_actions.routes,
    *poll_pages.routes,
    *report_pages.routes,
    *profile_pages.routes,
    *announcement_pages.routes,
]
