"""A small Askbot-shaped Q&A site on 127.0.0.1, written from Askbot's templates
(askbot-devel: widgets/question_summary.html, question/answer_card*.html,
macros.html comment_widget/post_comments_widget/paginator, views/writers.py
__generate_comments_json) and the behaviour seen on askbot.org and
ask.openstack.org:

- the question and each answer are ``div.post`` with their comments inside;
- a post shows its first ``SHOWN`` comments and a "see more comments" button;
  the rest come from ``/post_comments/?post_type=...&post_id=...``, a JSON list,
  answered only to XMLHttpRequest (404 otherwise, as Askbot does);
- answers are paged ``PAGE_SIZE`` at a time with the question on every page; the
  last page keeps a hidden "next" link to ``?page=None``, which serves page 1.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from monitor.lab.localsite import LoopbackServer, QuietHandler
from tests.forum_site import RECENT

SHOWN = 3
PAGE_SIZE = 2
STAMP = RECENT.strftime("%Y-%m-%d %H:%M:%S +0000")


@dataclass
class AComment:
    id: int
    author: str
    html: str
    at: str = STAMP


@dataclass
class APost:
    id: int
    author: str
    html: str  # the body: several <p>, like real posts
    at: str = STAMP
    votes: int = 0
    comments: list[AComment] = field(default_factory=list)


@dataclass
class AQuestion:
    id: int
    title: str
    question: APost
    answers: list[APost] = field(default_factory=list)


def _comment(c: AComment) -> str:
    return (f'<div id="post-id-{c.id}" class="comment js-comment" data-post-id="{c.id}">'
            '<div class="comment-votes"><div class="upvote js-score"></div></div>'
            '<div class="comment-content"><div class="comment-body">'
            f'{c.html}</div><div class="comment-controls">'
            '<a class="js-avatar-box" href="#"><img class="js-avatar gravatar"/></a>'
            f'<a class="author" href="/users/{c.id}/{escape(c.author)}/">{escape(c.author)}</a>'
            f'<span class="age">&nbsp;(<abbr class="timeago" title="{c.at}">{c.at}</abbr>)'
            '</span><a class="js-edit">edit</a></div></div></div>')


def _comments(kind: str, post: APost) -> str:
    shown = "".join(_comment(c) for c in post.comments[:SHOWN])
    more = ('<a class="js-load-comments-btn">see more comments</a>'
            if len(post.comments) > SHOWN else '<a class="js-open-editor-btn">add a comment</a>')
    title = '<h2 class="comment-title">Comments</h2>' if post.comments else ""
    return (f'{title}<div class="comments ordering-forward" data-parent-post-type="{kind}" '
            f'data-parent-post-id="{post.id}"><div class="content">{shown}</div>'
            f'<div class="controls">{more}</div></div>')


def _author_info(verb: str, post: APost) -> str:
    if not post.author:  # a community wiki post: no author card (macros.html)
        return ('<div class="post-update-info-container"><div class="post-update-info">'
                f'<p><strong>{verb} <abbr class="timeago" title="{post.at}">{post.at}</abbr>'
                '</strong></p><p class="tip">This post is a wiki.</p></div></div>')
    return ('<div class="post-update-info-container"><div class="post-update-info">'
            f'<p><a href="/revisions/{post.id}/"><strong>{verb} <abbr class="timeago" '
            f'title="{post.at}">{post.at}</abbr></strong></a></p><div class="user-card">'
            '<a class="js-avatar-box" href="#"><img class="gravatar"/></a><div class="user-info">'
            f'<a href="/users/{post.id}/{escape(post.author)}/">{escape(post.author)}</a><br/>'
            '</div></div></div></div>')


def _post(kind: str, post: APost, title: str = "") -> str:
    head = (f'<h1><div class="js-editable-content">{escape(title)}</div></h1>'
            if kind == "question" else "")
    cls = "post js-question" if kind == "question" else "post answer"
    return (f'<div id="post-id-{post.id}" data-post-id="{post.id}" class="{cls}">'
            f'<div class="vote-buttons"><div class="vote-number">{post.votes}</div></div>'
            f'<div class="post-content">{head}<div class="post-body">'
            f'<div class="js-editable-hide-post-body-{post.id}">'
            f'{_author_info("asked" if kind == "question" else "answered", post)}</div>'
            f'<div class="js-editable" id="js-post-body-{post.id}">'
            f'<div class="js-editable-content">{post.html}</div></div></div>'
            f'<div class="post-controls"><a>link</a></div>{_comments(kind, post)}</div></div>')


def _paginator(q: AQuestion, page: int, pages: int) -> str:
    if pages < 2:
        return ""
    nums = "".join(f'<span class="page"><a href="?page={n}">{n}</a></span>'
                   for n in range(1, pages + 1) if n != page)
    nxt = page + 1 if page < pages else None
    hidden = ' style="display: none"' if nxt is None else ""
    return (f'<div class="paginator" data-num-pages="{pages}">{nums}'
            f'<span class="next"{hidden}><a href="?page={nxt}" title="next page">next '
            '&raquo;</a></span></div>')


class AskbotSite:
    def __init__(self) -> None:
        self.questions: dict[int, AQuestion] = {}
        self.requests: list[str] = []
        self.lock = threading.Lock()
        self.server = LoopbackServer(self._handler()).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.stop()

    def url(self, qid: int, page: int | None = None) -> str:
        return f"{self.base}/question/{qid}/q{qid}/" + (f"?page={page}" if page else "")

    def question_page(self, q: AQuestion, raw_page: str) -> str:
        pages = max(1, -(-len(q.answers) // PAGE_SIZE))
        page = int(raw_page) if raw_page.isdigit() and 1 <= int(raw_page) <= pages else 1
        answers = q.answers[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
        body = _post("question", q.question, q.title) + "".join(
            _post("answer", a) for a in answers)
        return (f"<html><head><title>{escape(q.title)}</title></head><body>"
                f'<div id="question-content">{body}</div>{_paginator(q, page, pages)}'
                "</body></html>")

    def comments_json(self, query: dict[str, list[str]]) -> bytes | None:
        post_id = int(query.get("post_id", ["0"])[0] or 0)
        for q in self.questions.values():
            for post in (q.question, *q.answers):
                if post.id == post_id:
                    return json.dumps([
                        {"id": c.id, "object_id": post.id, "comment_added_at": c.at,
                         "html": c.html, "user_display_name": c.author,
                         "user_profile_url": f"/users/{c.id}/{c.author}/", "user_id": c.id,
                         "is_deletable": False, "is_editable": False, "points": 0, "score": 0,
                         "upvoted_by_user": False} for c in post.comments]).encode()
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802
                with site.lock:
                    site.requests.append(self.path)
                status, ctype, body = self.route()
                self.reply(status, body, ctype, {})

            def route(self) -> tuple[int, str, bytes]:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                html = "text/html; charset=utf-8"
                if parts.path == "/post_comments/":
                    ajax = self.headers.get("X-Requested-With") == "XMLHttpRequest"
                    answer = site.comments_json(query) if ajax else None
                    return (200, "application/json", answer) if answer else (404, html, b"")
                if parts.path.startswith("/question/"):
                    q = site.questions.get(int(parts.path.split("/")[2]))
                    if q:
                        page = query.get("page", ["1"])[0]
                        return 200, html, site.question_page(q, page).encode()
                return 404, html, b"not found"

        return Handler
