"""Real Discourse API responses (../shared/data/forums/discourse, read in place):
every post is extracted with author, time and body, and following next_page walks
the captured ``?post_number=N`` pages the way the README says Discourse answers."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from crawlers.extractors.discourse import CHUNK, extract_posts, parse_json
from crawlers.items import ThreadPage

DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "forums" / "discourse"
pytestmark = [pytest.mark.realdata,
              pytest.mark.skipif(not DIR.is_dir(), reason=f"{DIR} is absent")]
BASE = "https://discuss.criticalfallibilism.com"  # the README's "Base URL"
_LISTED = re.compile(r"^- `(t/\d+/posts\.json(?:\?post_number=\d+)?)` - (\S+\.json)", re.M)
_DC = "{http://purl.org/dc/elements/1.1/}creator"


def raw_posts(data: dict) -> list[dict]:
    """The posts as the JSON holds them, located by key (independent of the extractor)."""
    if "latest_posts" in data:
        return data["latest_posts"]
    return data["post_stream"]["posts"]


def load(name: str) -> dict:
    return json.loads((DIR / name).read_text(encoding="utf-8"))


def page(name: str) -> ThreadPage:
    return extract_posts(parse_json((DIR / name).read_bytes()), BASE)


def readme_files() -> dict[str, str]:
    """URL -> file, from the README's file listing."""
    text = (DIR / "README.md").read_text(encoding="utf-8")
    return {f"{BASE}/{url}": name for url, name in _LISTED.findall(text)}


def json_files() -> list[Path]:
    return sorted(DIR.glob("*.json"))


def test_every_post_of_every_file_is_extracted():
    rows, problems = [], []
    for path in json_files():
        data = load(path.name)
        present = raw_posts(data)
        result = page(path.name)
        by_key = {p.entry_key: p for p in result.posts}
        complete = [p for p in result.posts if p.author and p.published_at and p.text.strip()]
        rows.append((path.name, len(result.posts), len(present), len(complete),
                     result.next_page or "-"))
        # nothing in these captures is deleted, hidden or withdrawn: every post has
        # words (embed-only posts keep their video title), so all must come out
        assert not [p["id"] for p in present if p.get("deleted_at") or p.get("hidden")]
        for raw in present:
            item = by_key.get(f"post:{raw['id']}")
            if item is None:
                problems.append(f"{path.name}: post {raw['id']} missing")
                continue
            if item.author != raw["username"]:
                problems.append(f"{path.name}: post {raw['id']} author {item.author!r}")
            if item.published_at is None or item.published_at.utcoffset().total_seconds():
                problems.append(f"{path.name}: post {raw['id']} time {item.published_at}")
            elif item.published_at.isoformat()[:19] != raw["created_at"][:19]:
                problems.append(f"{path.name}: post {raw['id']} time {item.published_at}")
            if not item.text.strip():
                problems.append(f"{path.name}: post {raw['id']} has no text")
            expected_url = f"{BASE}/t/{raw['topic_slug']}/{raw['topic_id']}/{raw['post_number']}"
            if item.url != expected_url:
                problems.append(f"{path.name}: post {raw['id']} url {item.url}")
            if item.thread_key != f"t:{raw['topic_id']}":
                problems.append(f"{path.name}: post {raw['id']} thread {item.thread_key}")
    width = max(len(r[0]) for r in rows)
    print(f"\n{'file':<{width}}  extracted/present  complete  next_page")
    for name, got, present, complete, nxt in rows:
        print(f"{name:<{width}}  {got:>9}/{present:<7}  {complete:>8}  {nxt.removeprefix(BASE)}")
    total = sum(r[2] for r in rows)
    print(f"{'total':<{width}}  {sum(r[1] for r in rows):>9}/{total:<7}  "
          f"{sum(r[3] for r in rows):>8}")
    assert not problems, "\n".join(problems[:20])
    assert all(got == present == complete for _, got, present, complete, _ in rows)


def test_embed_only_post_keeps_its_words():
    """posts.json post 20194 is nothing but two TikTok embeds; the complaint is in
    their titles (``data-video-title``), which must reach the brand matcher."""
    item = next(p for p in page("posts.json").posts if p.entry_key == "post:20194")
    assert "Wells Fargo messed with the wrong one" in item.text


def test_authors_and_times_agree_with_the_rss_of_the_same_posts():
    """The RSS files were fetched with the JSON: the same post, independently parsed."""
    checked = 0
    json_by_url, json_by_key = {}, {}
    for path in json_files():
        for p in page(path.name).posts:
            json_by_url[p.url], json_by_key[p.entry_key] = p, p
    for rss in sorted(DIR.glob("*.rss")):
        for item in ET.parse(rss).getroot().iter("item"):
            guid = item.findtext("guid") or ""
            match = re.search(r"-post-(\d+)$", guid)  # posts.rss: the post id
            ours = (json_by_key.get(f"post:{match.group(1)}") if match
                    else json_by_url.get(item.findtext("link")))  # thread RSS: its link
            if ours is None:
                continue
            creator = (item.findtext(_DC) or "").split()  # "[@]username [name]"
            assert creator and creator[0].removeprefix("@") == ours.author, (rss.name, guid)
            when = parsedate_to_datetime(item.findtext("pubDate"))
            assert ours.published_at.replace(microsecond=0) == when, (rss.name, guid)
            checked += 1
    print(f"\nposts cross-checked against RSS: {checked}")
    assert checked >= 60


# --- pagination ------------------------------------------------------------------------

def numbers(data: dict) -> list[int]:
    return [p["post_number"] for p in raw_posts(data)]


def test_readme_lists_the_captured_pages():
    listed = readme_files()
    assert len(listed) == 12
    assert all((DIR / name).is_file() for name in listed.values())


def topic_2144_server():
    """Discourse's answer to /t/2144/posts.json?post_number=N, as the README states it
    (up to 20 posts numbered below N, newest first), over every captured 2144 post,
    checked first against each captured ?post_number page."""
    listed = readme_files()
    files = {url: name for url, name in listed.items() if "/t/2144/" in url}
    known = sorted({n for name in files.values() for n in numbers(load(name))})

    def answer(n: int) -> list[int]:
        return sorted((x for x in known if x < n), reverse=True)[:CHUNK]

    for url, name in files.items():
        if "post_number=" in url:
            n = int(url.rsplit("=", 1)[1])
            assert numbers(load(name)) == answer(n), name
    return files, known, answer


def test_following_next_page_from_t_2144_posts_json():
    files, known, answer = topic_2144_server()
    assert known == [n for n in range(1, 31) if n != 7]  # 30 deleted-one numbering, 29 posts
    url, name, visited, walk = f"{BASE}/t/2144/posts.json", "t_2144_posts.json", set(), []
    while True:
        result = page(name)
        visited |= set(numbers(load(name)))
        walk.append(f"{url.removeprefix(BASE)} [{name}]")
        nxt = result.next_page
        if nxt is None:
            break
        assert nxt.startswith(f"{BASE}/t/2144/posts.json?post_number="), nxt
        n = int(nxt.rsplit("=", 1)[1])
        last = max(numbers(load(name)))
        assert last + 2 <= n <= last + 1 + CHUNK  # progress, and no post can fall off
        if nxt in files:  # the README lists this very URL: that capture is the answer
            name = files[nxt]
        else:  # same answer as a captured page? (beyond the end they are all alike)
            same = [f for u, f in sorted(files.items())
                    if "post_number=" in u and numbers(load(f)) == answer(n)]
            assert same, f"no capture answers {nxt}"
            name = same[0]
            walk[-1] += f" -> {nxt.removeprefix(BASE)} answers as {same}"
        url = nxt
        assert len(walk) < 10
    print("\n2144 walk:\n  " + "\n  ".join(walk))
    assert visited == set(known)
    assert len(walk) == 2  # posts 1..21, then 30..11: the last page says it is the end


def test_following_next_page_through_t_2108():
    """2108's captures come from several days: compare URLs, not an answer model
    (Discourse sorts by sort_order, and post 60 there sorts after 61's place)."""
    files = readme_files()
    first = page("t_2108_posts.json")  # posts 1..20 of 446
    assert files[first.next_page] == "t_2108_posts_pn_41.json"  # holds 40..21: next 20
    second = page("t_2108_posts_pn_41.json")
    assert files[second.next_page] == "t_2108_posts_pn_61.json"  # holds 59..37
    third = page("t_2108_posts_pn_61.json")
    n = int(third.next_page.rsplit("=", 1)[1])
    assert n == 59 + 1 + CHUNK and third.next_page not in files
    # pn_81 (posts 80..60) holds the posts after 59; all below 80 are in our window
    following = [x for x in numbers(load("t_2108_posts_pn_81.json")) if x > 59]
    assert following and all(x < n for x in following if x != 80)
    assert page("t_2108_posts_pn_81.json").next_page.endswith(f"post_number={80 + 1 + CHUNK}")
    # the topic view shows highest_post_number 452 and its last post: the end
    assert load("t_2108_post_452.json")["highest_post_number"] == 452
    assert page("t_2108_post_452.json").next_page is None
    # nothing a walk reads from posts 1..80 is skipped
    captured = {x for f in files.values() if "2108" in f for x in numbers(load(f))}
    walked = set()
    for f in ("t_2108_posts.json", "t_2108_posts_pn_41.json", "t_2108_posts_pn_61.json",
              "t_2108_posts_pn_81.json"):
        walked |= set(numbers(load(f)))
    assert captured <= walked


def test_global_posts_json_is_not_paged():
    result = page("posts.json")
    assert result.next_page is None and len(result.posts) == len(raw_posts(load("posts.json")))
    assert len({p.thread_key for p in result.posts}) == len(
        {p["topic_id"] for p in raw_posts(load("posts.json"))})
