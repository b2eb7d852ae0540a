"""The command line: config errors refuse to run and write nothing; check-config;
history in its three formats and filters; help on every command."""

from __future__ import annotations

import csv
import io
import json

import pytest
import yaml

from tests.conftest import COMPLAINT, PRAISE, crisiswatch


@pytest.mark.parametrize(("patch", "expected"), [
    ({"bogus": 1}, "bogus: unknown key"),
    ({"sources": [{"name": "x", "kind": "gopher", "url": "http://127.0.0.1/f"}]},
     "sources[0].kind"),
    ({"sources": [{"name": "x", "kind": "feed", "url": "ftp://h/f"}]}, "sources[0].url"),
    ({"sources": [{"name": "x", "kind": "feed", "url": "http://h/f", "interval": "soon"}]},
     "sources[0].interval"),
    ({"channels": [{"name": "a", "url": "json://127.0.0.1:9/x"},
                   {"name": "A", "url": "json://127.0.0.1:9/y"}]}, "duplicate name 'A'"),
    ({"channels": [{"name": "a", "url": "nosuch://x"}]}, "channels[0].url"),
    ({"brands": [{"name": "Acme", "keywords": "Acme"}]}, "brands[0].keywords"),
])
def test_bad_config_is_refused_naming_the_key_and_writes_nothing(tmp_path, patch, expected):
    data = {"database": "sqlite:///should-not-exist.db",
            "brands": [{"name": "Acme", "keywords": ["Acme"]}], **patch}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    for args in (["run", "--once", "--config", str(path)], ["check-config", str(path)]):
        result = crisiswatch(*args)
        assert result.returncode == 2
        assert expected in result.stderr, result.stderr
    assert not (tmp_path / "should-not-exist.db").exists()


def test_missing_and_unparsable_files_are_named(tmp_path):
    result = crisiswatch("check-config", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2 and "cannot read" in result.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("brands: [unclosed", encoding="utf-8")
    result = crisiswatch("check-config", str(broken))
    assert result.returncode == 2 and "not valid YAML" in result.stderr


def test_check_config_accepts_a_good_file_and_redacts_secrets(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(yaml.safe_dump({
        "brands": [{"name": "Acme", "keywords": ["Acme"]}],
        "sources": [{"name": "n", "kind": "feed", "url": "https://example.org/f.xml",
                     "interval": "5m"}],
        "channels": [{"name": "chat", "url": "json://user:hunter2@127.0.0.1:9000/hook",
                      "min_severity": "warning"}]}), encoding="utf-8")
    result = crisiswatch("check-config", str(path))
    assert result.returncode == 0, result.stderr
    assert "1 brands, 1 sources, 1 channels" in result.stdout
    assert "hunter2" not in result.stdout + result.stderr
    assert not list(tmp_path.glob("*.db"))


def test_history_lists_flagged_posts_in_three_formats(site, receiver, make_config):
    site.feeds["forum"] = [PRAISE, COMPLAINT]
    config = make_config(["forum"])
    assert crisiswatch("run", "--once", "--config", str(config)).returncode == 0
    base = ["history", "--config", str(config)]
    rows = json.loads(crisiswatch(*base, "--format", "json").stdout)
    assert [r["title"] for r in rows] == [COMPLAINT.title]  # praise is not flagged
    row = rows[0]
    assert row["brand"] == "Acme" and row["severity"] == "notice" and row["source"] == "forum"
    assert row["link"] == f"{site.base}/posts/c1" and row["sentiment"] >= 0
    table = crisiswatch(*base).stdout
    assert "SEVERITY" in table and "Acme" in table and "notice" in table
    parsed = list(csv.DictReader(io.StringIO(crisiswatch(*base, "-f", "csv").stdout)))
    assert parsed[0]["link"] == row["link"]
    assert crisiswatch(*base, "--brand", "Other", "-f", "json").stdout.strip() == "[]"
    assert "no flagged posts" in crisiswatch(*base, "--severity", "warning").stdout
    assert len(json.loads(crisiswatch(*base, "--since", "1h", "-f", "json").stdout)) == 1
    assert json.loads(crisiswatch(*base, "--since", "2000-01-01", "-f", "json").stdout)
    bad = crisiswatch(*base, "--since", "yesterday-ish")
    assert bad.returncode == 2 and "yesterday-ish" in bad.stderr


@pytest.mark.parametrize("command", ["run", "check-config", "history", "demo"])
def test_every_command_has_help(command):
    result = crisiswatch(command, "--help")
    assert result.returncode == 0
    assert "Usage:" in result.stdout and len(result.stdout.splitlines()) > 5


_HEAD = ("database: sqlite:///should-not-exist.db\n"
         "brands: [{name: Acme, keywords: [Acme]}]\n")


@pytest.mark.parametrize(("text", "expected"), [
    # a second sources: would replace the first list and disable its sources
    ("sources: [{name: a, kind: feed, url: 'http://a.test/f'}]\nchannels: []\n"
     "sources: [{name: b, kind: feed, url: 'http://b.test/f'}]\n",
     "duplicate key 'sources' (first on line 3)"),
    ("fetch: {retries: 1, retries: 2}\n", "duplicate key 'retries'"),
    ("a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
     "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
     "expands to more than 200,000 values through its aliases"),
    ("data_dir: " + "[" * 20000 + "]" * 20000 + "\n", "nested more than 64 levels deep"),
    ("sources: [{name: a, kind: feed, url: 'http://a.test/f', interval: .inf}]\n",
     "sources[0].interval: inf is not a finite duration (line 3)"),
    ("sources: [{name: a, kind: feed, url: 'http://a.test/f', interval: 99999999999d}]\n",
     "sources[0].interval: '99999999999d' is too long (at most 30d) (line 3)"),
    ("fetch: {timeout: .inf}\n", "fetch.timeout: inf is not a finite duration (line 3)"),
    ("fetch: {timeout: 1h}\n", "fetch.timeout: '1h' is too long (at most 10m) (line 3)"),
    ("detection: {window: .nan}\n", "detection.window: nan is not a finite duration (line 3)"),
])
def test_yaml_and_durations_that_plain_yaml_accepts_are_refused(tmp_path, text, expected):
    """Issue 17 item 4: each of these passed check-config, then crashed run, hung a
    fetch or lost sources; now exit 2 naming the key (and line)."""
    path = tmp_path / "bad.yaml"
    path.write_text(_HEAD + text, encoding="utf-8")
    for args in (["run", "--once", "--config", str(path)], ["check-config", str(path)]):
        result = crisiswatch(*args, timeout=60)
        assert result.returncode == 2, result.stderr
        assert expected in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "should-not-exist.db").exists()
