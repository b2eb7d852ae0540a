"""The admin section's router: its home page, and the section routers mounted under
/admin.

The admin pages of the console: brands, sources, channels, playbooks, users.

Every page needs the admin role and every POST the session's CSRF token
(web/admin/common.py). Changes are rows in the database, which the daemon
reads on every run (monitor/stages/score.py load_rules, the watch spider's
due_sources, the outbox's channels), so they apply without a restart. The
sections live in the modules beside this one; this one only mounts them."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from web.admin import brands, channels, playbooks, sources, users
from web.admin.common import AdminUser, page

router = APIRouter(prefix="/admin")

SECTIONS = (("Brands", "/admin/brands", "watch keywords, with a preview of what they match"),
            ("Sources", "/admin/sources", "feeds and forums, their health, test fetch"),
            ("Channels", "/admin/channels", "where alerts go, routing, test notification"),
            ("Playbooks", "/admin/playbooks", "first-response playbooks, folder check"),
            ("Users", "/admin/users", "console accounts and roles"))


@router.get("")
def admin_home(request: Request, user: AdminUser) -> Response:
    return page(request, "admin/index.html", sections=SECTIONS)


for _section in (brands, sources, channels, playbooks, users):
    router.include_router(_section.router)
