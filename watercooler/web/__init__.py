"""The web pages an instance serves itself: server-rendered (Jinja2, autoescape on), readable
without JavaScript, with a little JavaScript for comfort (no build step, no CDN).

Layout, for every page module:

- `templates/base.html`: the layout. A page `{% extends "base.html" %}` and fills the blocks
  `title`, `main` and, for `<script src>` tags, `scripts` (the CSP refuses inline scripts).
  Every form carries `<input type="hidden" name="csrf_token" value="{{ csrf_token }}">`.
- `pages.render(request, template, context, viewer=..., status=...)`: a page with the shared
  context (`viewer`, `csrf_token`, `instance_name`, `domain`, `path`, `static`), the
  security headers (`security.SECURITY_HEADERS`: a CSP without inline scripts, nosniff,
  frame-ancestors 'none', a referrer policy) and a fresh CSRF cookie.
- `pages.page`: wraps an endpoint; `SignInRequired` goes to `/web/sign_in?next=...`,
  `PageError(status, message)` and `HTTPException` become `error.html`.
- `pages.require_user(request)` -> `session.WebUser` (user + account), or SignInRequired;
  `pages.require_admin(request)` the same for admins (PageError 403 for others);
  `session.signed_in(request)` -> WebUser or None.
- `pages.read_form(request)`: a POSTed form's fields, CSRF checked (403 page
  otherwise); `pages.see_other(path)` after a POST; `pages.safe_next(value)` for redirects.
- `static/`: the shared CSS file (`watercooler.css`), one per group of pages (admin,
  profiles, reading, settings: linked from the pages' `head` block) and small JS files,
  served at `/web/static/`
  with long cache headers; `static('name')` in a template (`static.static_url`) gives the
  URL, versioned by the file's content.
- `routes.routes`: every web route, wired in watercooler/app.py; a page module adds its own
  list there. base.html links admins to `/web/admin`.

Pages (one module each; templates of the same name):

- `sign_in`: `/web/sign_in`, `/web/sign_out` (POST). An employee with a one-time password is
  held on `/web/settings/password` (`pages.PasswordChangeRequired`) until they choose one.
- `timelines`, `compose`: `/web/home`, `/web/org` (public and org posts of every peer: the
  organisation), `/web/local`, `/web/compose[?in_reply_to=]`, `/web/statuses/{id}` (a
  thread), `POST /web/statuses` (the compose form).
- `questions`: `/web/questions` (open questions of every division, by hashtag and age) and
  the asker's `POST /web/statuses/{id}/accept|unaccept` on a thread's replies.
- `actions`: a status card's buttons, `POST /web/statuses/{id}/{favourite|reblog|bookmark}`
  and their `un...`, through the API's own `INTERACTIONS`.
- `profiles`: `/web/accounts/{id}` (anyone here or on a peer), `/web/@acct`, and
  `POST /web/accounts/{id}/follow|unfollow`.
- `notifications`, `search` (with the search operators, and `/web/tags/{name}`), `directory`
  (the people of every division, by department), `kept` (`/web/bookmarks`,
  `/web/favourites`), `settings` (profile, preferences, password, authorised apps).
- `public`: what anyone may read without signing in, `/`, `/about`, `/@name` and
  `/@name/{id}` (public and unlisted posts only, OpenGraph tags, the ActivityStreams
  alternate link), reached through the content negotiation of watercooler/routes/.
- `admin/`: `/web/admin/...` for admins, every change audited.
- The OAuth pages (watercooler/routes/oauth.py) render `templates/oauth/` with `render`.

New posts arrive live: `static/live.js` opens the instance's own event stream
(`/api/v1/streaming/...`), which takes the session cookie when no token is sent (read-only,
same-site only: the cookie is SameSite=Lax and a `Sec-Fetch-Site: cross-site` request is
refused), and fetches each new status as HTML from `/web/statuses/{id}/card`, rendered by the
same template as the page.

The session and CSRF scheme is the OAuth pages' own (`session.py`, used by
watercooler/routes/oauth.py too). Statuses are read with the client API's functions
(`watercooler.api.timelines.visible_page`, `watercooler.visibility.can_see`) and rendered from
the API's entities, so the pages show exactly what an app would, never more.
"""
