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
from web.i18n import N_

router = APIRouter(prefix="/admin")

SECTIONS = ((N_("Brands"), "/admin/brands",
             N_("watch keywords, with a preview of what they match")),
            (N_("Sources"), "/admin/sources",
             N_("feeds and forums, their health, test fetch")),
            (N_("Channels"), "/admin/channels",
             N_("where alerts go, routing, test notification")),
            (N_("Playbooks"), "/admin/playbooks", N_("first-response playbooks, folder check")),
            (N_("Users"), "/admin/users", N_("console accounts and roles")))


@router.get("")
def admin_home(request: Request, user: AdminUser) -> Response:
    return page(request, "admin/index.html", sections=SECTIONS)


for _section in (brands, sources, channels, playbooks, users):
    router.include_router(_section.router)
