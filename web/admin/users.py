"""Admin: console accounts, through monitor/users.py (argon2 hashes; disabling
or a new password ends the user's sessions at once). Accounts are disabled,
never deleted, so what they acknowledged keeps a name. An admin cannot disable
their own account or change its role: the console would lock out its last admin
that way. A new role applies to the user's next request."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from db.models import ROLES
from monitor.users import (
    MIN_PASSWORD,
    UserError,
    add_user,
    list_users,
    set_disabled,
    set_password,
    set_role,
)
from web.admin.common import AdminUser, PostedForm, back, engine_of, page
from web.i18n import say, t
from web.pages import page_lang

router = APIRouter()


def _page(request: Request, user: object, errors: dict | None = None, values: dict | None = None,
          status_code: int = 200) -> Response:
    return page(request, "admin/users.html", users=list_users(engine_of(request)),
                roles=ROLES, min_password=MIN_PASSWORD, me=getattr(user, "name", None),
                errors=errors or {}, values=values or {"name": "", "role": "analyst"},
                done=request.query_params.get("done"), status_code=status_code)


def _error_field(message: str) -> str:
    """Which form field a monitor.users error is about."""
    for field in ("password", "role", "name"):
        if field in message:
            return field
    return "name"


@router.get("/users")
def users_page(request: Request, user: AdminUser) -> Response:
    return _page(request, user)


@router.post("/users/new")
def create_user(request: Request, form: PostedForm) -> Response:
    values = {"name": form.get("name").strip(), "role": form.get("role")}
    lang = page_lang(request)
    if form.get("password") != form.get("password2"):
        return _page(request, form.user, {"password": t(lang, "the two passwords differ")},
                     values, 422)
    try:
        add_user(engine_of(request), values["name"], values["role"], form.get("password"))
    except UserError as exc:
        return _page(request, form.user, {_error_field(str(exc)): say(lang, exc)}, values, 422)
    return back("/admin/users", t(lang, "added user %(name)s", name=values["name"]))


def _name_of(request: Request, user_id: int) -> str:
    """Accounts are addressed by id in URLs (a name may hold a slash)."""
    found = [u.name for u in list_users(engine_of(request)) if u.id == user_id]
    if not found:
        raise HTTPException(404, t(page_lang(request), "no such %(what)s",
                                   what=t(page_lang(request), "user")))
    return found[0]


@router.post("/users/{user_id}/disabled")
def disable_user(user_id: int, request: Request,
                 form: PostedForm) -> Response:
    """Disable (``disabled=1``) or enable an account."""
    name, lang = _name_of(request, user_id), page_lang(request)
    disabled = form.flag("disabled")
    if disabled and name == getattr(form.user, "name", None):
        raise HTTPException(409, t(lang, "you cannot disable your own account"))
    set_disabled(engine_of(request), name, disabled)
    verb = t(lang, "disabled") if disabled else t(lang, "enabled")
    return back("/admin/users", t(lang, "%(verb)s %(what)s %(name)s", verb=verb,
                                  what=t(lang, "user"), name=name))


@router.post("/users/{user_id}/password")
def reset_password(user_id: int, request: Request,
                   form: PostedForm) -> Response:
    """Set a new password (the admin hands it over); the user's sessions end."""
    name = _name_of(request, user_id)
    try:
        set_password(engine_of(request), name, form.get("password"))
    except UserError as exc:
        return _page(request, form.user, {f"password:{user_id}": say(page_lang(request), exc)},
                     status_code=422)
    return back("/admin/users", t(page_lang(request), "set a new password for %(name)s",
                                  name=name))


@router.post("/users/{user_id}/role")
def change_role(user_id: int, request: Request, form: PostedForm) -> Response:
    """Give an account another role (not one's own: see the module docstring)."""
    name, lang = _name_of(request, user_id), page_lang(request)
    if name == getattr(form.user, "name", None):
        raise HTTPException(409, t(lang, "you cannot change your own role"))
    try:
        set_role(engine_of(request), name, form.get("role"))
    except UserError as exc:
        return _page(request, form.user, {f"role:{user_id}": say(lang, exc)}, status_code=422)
    return back("/admin/users", t(lang, "%(name)s is now %(role)s", name=name,
                                  role=t(lang, form.get("role"))))
