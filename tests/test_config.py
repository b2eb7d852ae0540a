"""monitor/config.py: parse_config, load_config, parse_duration, redact_url."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from monitor.config import (
    ENV_DATABASE,
    Config,
    ConfigError,
    load_config,
    parse_config,
    parse_duration,
    redact_url,
)

VALID = {
    "database": "sqlite:////var/lib/crisiswatch/cw.db",
    "brands": [{"name": "Acme", "keywords": ["acme", "艾克美"], "exclude": ["acme anvil"]}],
    "sources": [
        {"name": "forum", "kind": "feed", "url": "https://forum.example.com/feed",
         "interval": "5m"},
        {"name": "blog", "kind": "feed", "url": "http://blog.example.com/rss", "interval": 60},
    ],
    "channels": [{"name": "ops", "url": "json://localhost/hook", "min_severity": "warning"}],
    "detection": {"window": "1h", "incident_quiet": "2h", "risk_threshold": 0.6},
}


def _data(**changes: object) -> dict:
    data = copy.deepcopy(VALID)
    data.update(changes)
    return data


def _error(data: object, base: Path = Path("/tmp")) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(data, base=base, env={})
    return str(info.value)


def _write(tmp_path: Path, data: object, name: str = "crisiswatch.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


# --- valid files ---------------------------------------------------------------------


def test_load_valid_file(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, VALID), env={})
    assert isinstance(config, Config)
    assert [b.name for b in config.brands] == ["Acme"]
    assert config.brands[0].keywords == ["acme", "艾克美"]
    assert config.brands[0].exclude == ["acme anvil"]
    assert [s.name for s in config.sources] == ["forum", "blog"]
    assert config.sources[0].interval == 300.0  # "5m"
    assert config.sources[1].interval == 60.0  # plain seconds
    assert config.detection.window == 3600.0  # "1h"
    assert config.detection.incident_quiet == 7200.0
    assert config.detection.risk_threshold == 0.6
    assert config.channels[0].min_severity == "warning"
    assert config.database == "sqlite:////var/lib/crisiswatch/cw.db"


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    path = tmp_path / "crisiswatch.yaml"
    path.write_text("", encoding="utf-8")
    config = load_config(path, env={})
    assert config.brands == [] and config.sources == [] and config.channels == []
    assert config.detection.window == 3600.0
    assert config.database == f"sqlite:///{(tmp_path / 'crisiswatch.db').resolve()}"


def test_source_interval_defaults_to_five_minutes() -> None:
    data = _data(sources=[{"name": "s", "kind": "feed", "url": "https://a.example/"}])
    assert parse_config(data, base=Path("/tmp"), env={}).sources[0].interval == 300.0


# --- parse_duration --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("5m", 300.0), (60, 60.0), ("1h", 3600.0), ("90s", 90.0), ("2d", 172800.0),
     ("45", 45.0), (" 1.5 h ", 5400.0), (2.5, 2.5)],
)
def test_parse_duration(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["5 minutes", "m", "", "1w", "-5m", 0, -1, "0s", True, None,
                                   float("inf"), float("nan"), "99999999999d", 1e300])
def test_parse_duration_rejects(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


# --- errors name the key ---------------------------------------------------------------


def test_unknown_top_level_key() -> None:
    message = _error(_data(sourcez=[]))
    assert "sourcez" in message and "unknown key" in message


def test_unknown_nested_key() -> None:
    data = _data()
    data["sources"][0]["foo"] = 1
    message = _error(data)
    assert "sources[0].foo" in message and "unknown key" in message


def test_keywords_as_string_is_wrong_type() -> None:
    data = _data()
    data["brands"][0]["keywords"] = "acme"
    message = _error(data)
    assert "brands[0].keywords" in message
    assert "list" in message and "'acme'" in message


def test_blank_keyword_rejected() -> None:
    data = _data()
    data["brands"][0]["keywords"] = ["acme", "  "]
    assert "brands[0].keywords" in _error(data)


def test_brand_names_per_language_are_kept_trimmed() -> None:
    data = _data()
    data["brands"][0]["names"] = {"zh": " 艾克美 ", "en": "Acme Inc."}
    brand = parse_config(data, base=Path("/tmp"), env={}).brands[0]
    assert brand.names == {"zh": "艾克美", "en": "Acme Inc."}
    assert parse_config(_data(), base=Path("/tmp"), env={}).brands[0].names == {}


@pytest.mark.parametrize("names, expected", [
    ({"fr": "Acmé"}, "brands[0].names: unknown language 'fr' (use en or zh)"),
    ({"zh": "  "}, "brands[0].names: must not contain empty names"),
    ("艾克美", "brands[0].names: Input should be a valid dictionary (got '艾克美')"),
])
def test_bad_brand_names_are_named(names: object, expected: str) -> None:
    data = _data()
    data["brands"][0]["names"] = names
    assert expected in _error(data)


def test_unknown_kind() -> None:
    data = _data()
    data["sources"][1]["kind"] = "gopher"
    message = _error(data)
    assert "sources[1].kind" in message and "'gopher'" in message


@pytest.mark.parametrize(
    "url", ["ftp://example.com/feed", "http:///feed", "https://", "example.com"]
)
def test_bad_source_url(url: str) -> None:
    data = _data()
    data["sources"][0]["url"] = url
    message = _error(data)
    assert "sources[0].url" in message and "http(s)" in message


@pytest.mark.parametrize("url", ["nosuchscheme://x/y", "not a url"])
def test_bad_channel_url(url: str) -> None:
    data = _data()
    data["channels"][0]["url"] = url
    message = _error(data)
    assert "channels[0].url" in message and "apprise" in message


def test_bad_min_severity() -> None:
    data = _data()
    data["channels"][0]["min_severity"] = "urgent"
    message = _error(data)
    assert "channels[0].min_severity" in message and "'urgent'" in message


@pytest.mark.parametrize(
    ("section", "extra"),
    [
        ("brands", {"name": "ACME", "keywords": ["x"]}),
        ("sources", {"name": "Forum", "kind": "feed", "url": "https://b.example/"}),
        ("channels", {"name": "OPS", "url": "json://localhost/other"}),
    ],
)
def test_duplicate_names_case_insensitive(section: str, extra: dict) -> None:
    data = _data()
    data[section].append(extra)
    message = _error(data)
    index = len(data[section]) - 1
    assert f"{section}[{index}].name" in message
    assert "duplicate" in message and repr(extra["name"]) in message


def test_bad_duration_named() -> None:
    data = _data()
    data["sources"][0]["interval"] = "5 minutes"
    message = _error(data)
    assert "sources[0].interval" in message and "5 minutes" in message


def test_durations_are_bounded_by_their_key() -> None:
    """A day-long timeout or a 40-day window is a typo; 30d intervals and 10m timeouts pass."""
    config = parse_config(_data(fetch={"timeout": "10m"}, detection={"window": "30d"}),
                          base=Path("/tmp"), env={})
    assert (config.fetch.timeout, config.detection.window) == (600.0, 30 * 86400.0)
    message = _error(_data(fetch={"timeout": "1d"}, detection={"hot_for": "40d"}))
    assert "fetch.timeout: '1d' is too long (at most 10m)" in message
    assert "detection.hot_for: '40d' is too long (at most 30d)" in message


def test_errors_in_a_file_give_the_line(tmp_path: Path) -> None:
    path = tmp_path / "crisiswatch.yaml"
    path.write_text("brands:\n  - name: Acme\n    keywords: [acme]\n"
                    "detection:\n  window: soon\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"detection\.window: 'soon' is not a .* \(line 5\)"):
        load_config(path, env={})


def test_zero_duration_named() -> None:
    message = _error(_data(detection={"window": 0}))
    assert "detection.window" in message


def test_bad_database_url() -> None:
    message = _error(_data(database="not a database url"))
    assert "database" in message


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", "42\n"])
def test_not_a_mapping(tmp_path: Path, text: str) -> None:
    path = tmp_path / "crisiswatch.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(path, env={})


def test_invalid_yaml_syntax(tmp_path: Path) -> None:
    path = tmp_path / "crisiswatch.yaml"
    path.write_text("brands: [\n  {name: Acme\nsources: :::\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert "not valid YAML" in str(info.value) and "crisiswatch.yaml" in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert "nope.yaml" in str(info.value) and "cannot read" in str(info.value)


def test_not_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "crisiswatch.yaml"
    path.write_bytes("brands: []  # 艾克美\n".encode("gbk"))
    with pytest.raises(ConfigError, match="UTF-8"):
        load_config(path, env={})


def test_several_errors_reported_together() -> None:
    data = _data(colour="red")
    data["sources"][0]["kind"] = "gopher"
    message = _error(data)
    assert "colour" in message and "sources[0].kind" in message


# --- database --------------------------------------------------------------------------


def test_env_overrides_database(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID)
    url = "postgresql+psycopg://cw:pw@db.internal:5432/crisiswatch"
    config = load_config(path, env={ENV_DATABASE: url})
    assert config.database == url


def test_empty_env_does_not_override(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, VALID), env={ENV_DATABASE: ""})
    assert config.database == VALID["database"]


def test_env_database_is_validated(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="database"):
        load_config(_write(tmp_path, VALID), env={ENV_DATABASE: "::nonsense::"})


def test_relative_sqlite_resolved_against_config_folder(tmp_path: Path) -> None:
    folder = tmp_path / "etc" / "cw"
    folder.mkdir(parents=True)
    path = _write(folder, _data(database="sqlite:///data/cw.db"))
    config = load_config(path, env={})
    expected = (folder / "data" / "cw.db").resolve()
    assert config.database == f"sqlite:///{expected}"


def test_relative_sqlite_from_env_resolved_too(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, VALID), env={ENV_DATABASE: "sqlite:///env.db"})
    assert config.database == f"sqlite:///{(tmp_path / 'env.db').resolve()}"


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "sqlite:////abs/cw.db"])
def test_memory_and_absolute_sqlite_untouched(url: str) -> None:
    assert parse_config({"database": url}, base=Path("/somewhere"), env={}).database == url


# --- redact_url ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("tgram://123:secret@chat", "secret"),
        ("mailto://user:hunter2@gmail.com", "hunter2"),
        ("json://user:pw@host:8080/hook?token=abc123", "abc123"),
        ("slack://T1/B2/sekrit-token", "sekrit-token"),
        ("discord://webhook_id/webhook-token-xyz", "webhook-token-xyz"),
    ],
)
def test_redact_url_hides_tokens(url: str, secret: str) -> None:
    shown = redact_url(url)
    assert secret not in shown
    assert shown.startswith(url.split("://", 1)[0] + "://")
    assert "<redacted>" in shown


def test_redact_url_keeps_host_and_port() -> None:
    assert redact_url("json://user:pw@hooks.example.com:8080/hook") == \
        "json://hooks.example.com:8080/<redacted>"
    # a bare label may be a token (slack://T1/B2/C3), so it is not shown either
    assert redact_url("slack://T1AAA/B2BBB/C3secret") == "slack://<redacted>"


def test_redact_url_without_scheme() -> None:
    assert redact_url("secret-token") == "<redacted>"


def test_redact_url_telegram_bot_token() -> None:
    """apprise's Telegram form is tgram://{bot_token}/{chat_id}, where the bot token
    is ``123456789:AAH...``: urlsplit reads the part after ':' as a port."""
    url = "tgram://123456789:AAHsecretToken/12345"
    parse_config({"channels": [{"name": "tg", "url": url}]}, base=Path("/tmp"), env={})
    shown = redact_url(url)
    assert "AAHsecretToken" not in shown
    assert shown.startswith("tgram://")


# --- forum sources -----------------------------------------------------------------------


@pytest.mark.parametrize(("source", "expected"), [
    ({"kind": "forum"}, "sources[0]"),  # neither preset nor rules
    ({"kind": "forum", "preset": "nosuch"}, "nosuch"),
    ({"kind": "feed", "preset": "phpbb"}, "preset and rules are for kind forum"),
    ({"kind": "forum", "rules": {"thread": {"post": "div[", "body": "p"}}}, "thread.post"),
    ({"kind": "forum", "rules": {"thread": {"body": "p"}}}, "thread.post"),
    ({"kind": "forum", "preset": "phpbb", "rules": {"thread": {"colour": "x"}}},
     "thread.colour"),
    ({"kind": "forum", "rules": {"thread": {"post": "div", "body": "p"}}}, "page"),
    ({"kind": "forum", "preset": "phpbb", "page": "sideways"}, "sources[0].page"),
])
def test_bad_forum_sources_name_the_problem(source, expected) -> None:
    data = _data()
    data["sources"] = [{"name": "f", "url": "http://127.0.0.1/f", **source}]
    assert expected in _error(data)


def test_forum_sources_accept_presets_rules_and_threads() -> None:
    data = _data()
    data["sources"] = [
        {"name": "a", "kind": "forum", "preset": "phpbb", "url": "http://h/viewforum.php?f=1"},
        {"name": "b", "kind": "forum", "preset": "reddit_old", "page": "thread",
         "url": "https://old.reddit.com/r/x/comments/1/y/", "robots": False,
         "hot_interval": "30s"},
        {"name": "c", "kind": "forum", "url": "http://h/t/1", "page": "thread",
         "rules": {"thread": {"post": "div.post", "body": "div.body"}}},
        {"name": "d", "kind": "discourse", "url": "https://discuss.example.org"}]
    config = parse_config(data, base=Path("/tmp"), env={})
    b = config.sources[1]
    assert (b.page, b.robots, b.hot_interval) == ("thread", False, 30.0)


# --- alert routing, console and folders ------------------------------------------------


def _channel(**fields: object) -> dict:
    return _data(channels=[{"name": "ops", "url": "json://localhost/hook", **fields}])


def test_channel_routing_fields_are_validated_and_kept(tmp_path: Path) -> None:
    config = parse_config(_channel(brands=["acme"], tier=1, format="markdown",
                                   quiet_hours="22:00-07:00", timezone="Asia/Shanghai",
                                   rate_limit="10/1h", digest="notice", digest_every="30m"),
                          base=tmp_path, env={})
    ch = config.channels[0]
    assert (ch.tier, ch.format, ch.quiet_hours, ch.timezone) == \
        (1, "markdown", "22:00-07:00", "Asia/Shanghai")
    assert (ch.rate_limit, ch.digest, ch.digest_every) == ("10/1h", "notice", 1800.0)


@pytest.mark.parametrize(("fields", "expected"), [
    ({"quiet_hours": "22-07"}, "channels[0].quiet_hours: '22-07' is not a span like 22:00-07:00"),
    ({"quiet_hours": "08:00-08:00"}, "starts and ends at the same minute"),
    ({"rate_limit": "ten per hour"}, "channels[0].rate_limit: 'ten per hour' is not a rate"),
    ({"rate_limit": "0/1h"}, "is not a rate like 10/1h"),
    ({"timezone": "Mars/Olympus"}, "channels[0].timezone: 'Mars/Olympus' is not a time zone"),
    ({"brands": ["Globex"]}, "channels[0].brands: 'Globex' is not one of brands[].name"),
    ({"format": "rtf"}, "channels[0].format"),
    ({"tier": -1}, "channels[0].tier"),
    ({"tags": ["oncall"]}, "channels[0].url: with tags, this must be an apprise configuration"),
])
def test_bad_channel_routing_named(fields: dict, expected: str) -> None:
    assert expected in _error(_channel(**fields))


def test_tagged_channel_points_at_an_apprise_configuration(tmp_path: Path) -> None:
    config = parse_config(_channel(url="file:///etc/crisiswatch/apprise.yml", tags=["oncall"]),
                          base=tmp_path, env={})
    assert config.channels[0].tags == ["oncall"]


def test_console_allow_list_and_folders(tmp_path: Path) -> None:
    config = parse_config(_data(console={"allow_private": ["127.0.0.0/8", "intranet.local"]},
                                playbooks_dir="books", templates_dir="/srv/templates"),
                          base=tmp_path, env={})
    assert config.console.allow_private == ["127.0.0.0/8", "intranet.local"]
    assert config.playbooks_dir == str(tmp_path / "books")  # relative to the config file
    assert config.templates_dir == "/srv/templates"
    assert "console.allow_private: '10.0.0.0/33' is not a network" in \
        _error(_data(console={"allow_private": ["10.0.0.0/33"]}))
    assert "alerts.max_attempts" in _error(_data(alerts={"max_attempts": 0}))
