"""The admin pages: users, peers, the delivery queue, domain blocks, run-time settings and
the audit log, for signed-in admins only (others get 403, anonymous visitors the sign-in).

Every change goes through `watercooler.admin.AdminActions`, the same code the admin API and
the CLI use, so each is written to the audit log (origin 'web'). Modules: `base` (what the
pages share), `users`, `federation` (peers, queue, domain blocks), `instance` (overview,
settings, audit log); templates in `templates/admin/`.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from watercooler.web.admin import audit, federation, instance, moderation, retention, sso, users

routes: list[BaseRoute] = [
    *instance.routes,
    *users.routes,
    *federation.routes,
    *audit.routes,
    *moderation.routes,
    *retention.routes,
    *sso.routes,
]
