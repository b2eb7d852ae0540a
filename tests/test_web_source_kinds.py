"""The source form's own fields for the social kinds (mastodon, hackernews, bluesky,
reddit): what an admin types is stored as the YAML entry would store it, errors
land under the field they are about, every address goes through the URL guard,
and stored values come back into the fields, escaped."""

from __future__ import annotations

from db.models import Source
from tests.test_web_admin import (  # noqa: F401 - the fixtures
    db_url,
    engine,
    make_client,
    one,
    post,
    rows,
)

PUBLIC = "https://93.184.216.34"  # a public address: no DNS needed


def _form(kind: str, url: str = PUBLIC, **fields: str) -> dict:
    return {"name": f"my-{kind}", "kind": kind, "url": url, "interval": "5m",
            "page": "listing", "hot_interval": "1m", "robots": "1", "enabled": "1",
            "action": "save", **fields}


def test_mastodon_fields_are_stored_as_its_options(make_client, engine) -> None:  # noqa: ANN001,F811
    client = make_client("admin")
    answer = post(client, "/admin/sources/new", _form(
        "mastodon", m_hashtags="#acme, acmephone", m_timeline="local",
        m_search="acme refund", m_token_env="MASTO_TOKEN", rules="ignored: [for forums]"))
    assert answer.status_code == 303, answer.text
    row = one(engine, Source, name="my-mastodon")
    assert row.rules == {"hashtags": ["acme", "acmephone"], "timeline": "local",
                         "search": ["acme refund"], "token_env": "MASTO_TOKEN"}
    page = client.get(f"/admin/sources/{row.id}").text  # back in its fields
    assert ">acme\nacmephone</textarea>" in page and 'value="MASTO_TOKEN"' in page
    assert '<option value="local" selected>' in page


def test_reddit_fields_default_the_api_and_keep_hostile_text_inert(make_client, engine) -> None:  # noqa: ANN001,F811
    client = make_client("admin", allow=["oauth.reddit.com", "www.reddit.com"])
    agent = 'x"><script>alert(1)</script>'
    answer = post(client, "/admin/sources/new", _form(
        "reddit", url="", r_subreddits="r/acme\nAcmePhones", r_comments="1",
        r_client_id_env="REDDIT_CLIENT_ID", r_client_secret_env="REDDIT_CLIENT_SECRET",
        r_user_agent=agent))
    assert answer.status_code == 303, answer.text
    row = one(engine, Source, name="my-reddit")
    assert row.url == "https://oauth.reddit.com" and row.kind == "reddit"
    assert row.rules == {"client_id_env": "REDDIT_CLIENT_ID", "comments": True,
                         "client_secret_env": "REDDIT_CLIENT_SECRET",
                         "subreddits": ["acme", "AcmePhones"], "user_agent": agent}
    page = client.get(f"/admin/sources/{row.id}").text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert 'name="r_comments" value="1" checked' in page


def test_errors_land_under_their_field(make_client, engine) -> None:  # noqa: ANN001,F811
    client = make_client("admin")
    answer = post(client, "/admin/sources/new", _form("reddit", r_subreddits="acme"))
    assert answer.status_code == 422
    assert 'id="error-r_client_id_env"' in answer.text
    assert "Client id environment variable: Reddit&#39;s API needs your own app" in answer.text
    answer = post(client, "/admin/sources/new", _form("mastodon", m_hashtags="acme phones"))
    assert answer.status_code == 422 and 'id="error-m_hashtags"' in answer.text
    assert "Hashtags: &#39;acme phones&#39; is not a hashtag" in answer.text
    answer = post(client, "/admin/sources/new", _form("mastodon", url=f"{PUBLIC}/tags/x",
                                                      m_hashtags="acme"))
    assert answer.status_code == 422 and "URL: &#39;https://93.184.216.34/tags/x&#39;: give the" \
        in answer.text
    client = make_client("admin", name="second", allow=["hn.algolia.com"])  # no DNS here
    answer = post(client, "/admin/sources/new", _form("hackernews", url="", hn_query=" ,"))
    assert answer.status_code == 303  # blank query: the brands' keywords, the default API
    assert rows(engine, Source)[0].rules == {"query": None, "items_url": None}
    assert rows(engine, Source)[0].url.startswith("https://hn.algolia.com/")
    answer = post(client, "/admin/sources/new", {**_form("hackernews", url="",
                                                         hn_query="acme refund\nAcme"),
                                                  "name": "hn2"})
    assert answer.status_code == 303
    assert one(engine, Source, name="hn2").rules == {"query": ["acme refund", "Acme"],
                                                     "items_url": None}


def test_every_address_goes_through_the_url_guard(make_client, engine) -> None:  # noqa: ANN001,F811
    client = make_client("admin")
    fields = {"r_subreddits": "acme", "r_client_id_env": "A", "r_client_secret_env": "B"}
    answer = post(client, "/admin/sources/new", _form("reddit", url="http://127.0.0.1:8080",
                                                      **fields))
    assert answer.status_code == 422 and 'id="error-url"' in answer.text
    answer = post(client, "/admin/sources/new", _form(
        "reddit", r_token_url="http://169.254.169.254/token", **fields))
    assert answer.status_code == 422 and 'id="error-r_token_url"' in answer.text
    assert "console.allow_private" in answer.text
    answer = post(client, "/admin/sources/new", _form("mastodon", url="http://10.1.2.3",
                                                      m_hashtags="acme"))
    assert answer.status_code == 422 and "private, loopback" in answer.text
    answer = post(client, "/admin/sources/new", _form("bluesky", url="wss://10.0.0.9/subscribe"))
    assert answer.status_code == 422 and "private, loopback" in answer.text
    answer = post(client, "/admin/sources/new", _form("bluesky",
                                                      url="ws://93.184.216.34/subscribe"))
    assert answer.status_code == 422 and "use wss://" in answer.text
    assert rows(engine, Source) == []
    answer = post(client, "/admin/sources/new", _form("bluesky",
                                                      url="wss://93.184.216.34/subscribe"))
    assert answer.status_code == 303
    assert one(engine, Source, name="my-bluesky").rules is None
    answer = post(client, "/admin/sources/new", {**_form(
        "bluesky", url="wss://93.184.216.34/subscribe", b_handle="acme.bsky.social",
        b_app_password_env="BSKY_PW"), "name": "bsky2"})
    assert answer.status_code == 303, answer.text
    assert one(engine, Source, name="bsky2").rules == {"handle": "acme.bsky.social",
                                                       "app_password_env": "BSKY_PW"}
    answer = post(client, "/admin/sources/new", _form("bluesky", url="wss://93.184.216.34/s",
                                                      b_handle="acme.bsky.social"))
    assert answer.status_code == 422 and 'id="error-b_app_password_env"' in answer.text


def test_reddit_test_fetch_reads_through_the_app(make_client, engine, monkeypatch) -> None:  # noqa: ANN001,F811
    from tests.reddit_site import FakeReddit, Thing

    api = FakeReddit()
    try:
        monkeypatch.setenv("RT_ID", api.client_id)
        monkeypatch.setenv("RT_SECRET", api.secret)
        api.add(Thing(5000, "anna", "Acme refund <b>never</b> came", title="Acme refund"))
        client = make_client("admin", allow=["127.0.0.0/8"])
        answer = post(client, "/admin/sources/new", _form(
            "reddit", url=api.base, r_subreddits="acme", r_client_id_env="RT_ID",
            r_client_secret_env="RT_SECRET", r_token_url=f"{api.base}/api/v1/access_token",
            action="test"))
        assert answer.status_code == 200, answer.text
        assert "Test fetch: ok (HTTP 200)" in answer.text
        assert "Acme refund &lt;b&gt;never&lt;/b&gt; came" in answer.text
        assert api.requests == ["POST /api/v1/access_token", "/r/acme/new?limit=100&raw_json=1"]
        assert rows(engine, Source) == []  # nothing saved
    finally:
        api.stop()
