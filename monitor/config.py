"""``crisiswatch.yaml``: one file, validated in full before anything is written.

Errors name the key (``sources[1].kind``) and the problem. The database URL
can be overridden by ``CRISISWATCH_DATABASE`` so secrets stay out of the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import apprise
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from sqlalchemy.engine import make_url

from alerts.durations import parse_duration, parse_quiet_hours, parse_rate
from alerts.playbook_check import LANGS
from crawlers.jetstream import check_endpoint, plain_allowed, source_url_problem
from crawlers.kinds import checked_rules, with_defaults
from crawlers.urlcheck import redact_url  # noqa: F401 - config users import it from here
from db.messages import either, said
from monitor.text.strict_yaml import line_of, load_yaml

ENV_DATABASE = "CRISISWATCH_DATABASE"
ENV_CONFIG = "CRISISWATCH_CONFIG"  # the config path `crisiswatch web` hands the console
DEFAULT_CONFIG = "crisiswatch.yaml"
BUILTIN_CONFIG = "-"  # as CRISISWATCH_CONFIG: no file, the built-in settings (web --database)
Severity = Literal["notice", "warning", "crisis"]


class ConfigError(Exception):
    """The config file is missing, unreadable or invalid; the message says where."""


def check_zone(value: str) -> str:
    """An IANA time zone name this machine knows (tzdata), or a ValueError that says so."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(said("%(value)r is not a time zone name like Asia/Shanghai",
                              value=value)) from None
    return value


def _bounded(at_most: float, shown: str) -> BeforeValidator:
    return BeforeValidator(lambda value: parse_duration(value, at_most=at_most, shown=shown))


# Bounded: an endless interval or window is a typo, and it overflows date arithmetic
Duration = Annotated[float, _bounded(30 * 86400.0, "30d")]
# a fetch that may hang for ever is no deadline: Scrapy's DOWNLOAD_TIMEOUT stays bounded
Timeout = Annotated[float, _bounded(600.0, "10m")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Thresholds(_Strict):
    """When an incident grows (warning) and when it is a crisis; see monitor/detection/severity.py.
    Every field can be set per brand (``brands: [{..., detection: {...}}]``)."""

    window: Duration = 3600.0
    growth_mentions: int = Field(default=3, ge=2)
    growth_replies: int = Field(default=5, ge=1)
    crisis_sources: int = Field(default=2, ge=2)
    crisis_forecast: int = Field(default=200, ge=1)
    volume_p: float = Field(default=0.001, gt=0, lt=1)
    soft_alarm: bool = False  # risk-weighted brand alarm: more crises warned, more noise
    iceberg_multiplier: float = Field(default=20.0, ge=1)
    remind_every: Duration | None = None  # e.g. 2h: remind of a growing unacknowledged crisis


class BrandThresholds(_Strict):
    """Per-brand overrides of ``detection``; unset fields keep the global value."""

    window: Duration | None = None
    growth_mentions: int | None = Field(default=None, ge=2)
    growth_replies: int | None = Field(default=None, ge=1)
    crisis_sources: int | None = Field(default=None, ge=2)
    crisis_forecast: int | None = Field(default=None, ge=1)
    volume_p: float | None = Field(default=None, gt=0, lt=1)
    soft_alarm: bool | None = None
    iceberg_multiplier: float | None = Field(default=None, ge=1)
    remind_every: Duration | None = None


class BrandConfig(_Strict):
    name: str = Field(min_length=1)
    keywords: list[str] = Field(min_length=1)
    exclude: list[str] = []
    detection: BrandThresholds = BrandThresholds()
    # the brand as holding statements in that language name it ({zh: 艾克美}); else ``name``
    names: dict[str, str] = {}

    @field_validator("keywords", "exclude")
    @classmethod
    def _no_blank(cls, values: list[str]) -> list[str]:
        if any(not v.strip() for v in values):
            raise ValueError(said("must not contain empty strings"))
        return values

    @field_validator("names")
    @classmethod
    def _statement_names(cls, names: dict[str, str]) -> dict[str, str]:
        unknown = [lang for lang in names if lang not in LANGS]
        if unknown:
            raise ValueError(said("unknown language %(lang)r (use %(all)s)", lang=unknown[0],
                                  all=either(LANGS)))
        if any(not name.strip() for name in names.values()):
            raise ValueError(said("must not contain empty names"))
        return {lang: name.strip() for lang, name in names.items()}


class SourceConfig(_Strict):
    name: str = Field(min_length=1)
    kind: Literal["feed", "forum", "discourse", "bluesky", "hackernews", "mastodon", "reddit"]
    url: str  # bluesky: a Jetstream endpoint, wss://.../subscribe; reddit: the API
    interval: Duration = 300.0
    preset: str | None = None  # forum: vbulletin, phpbb, discuz, reddit_old, hackernews
    rules: dict | None = None  # forum: CSS/XPath rules, merged over the preset
    page: Literal["listing", "thread"] = "listing"  # forum: a thread list, or one thread
    robots: bool = True  # obey robots.txt
    hot_interval: Duration = 60.0  # re-read threads with a flagged mention this often
    lookback: Duration | None = None  # older posts do not alert; default detection.lookback
    query: list[str] | None = None  # hackernews: search terms (default: brands' keywords)
    items_url: str | None = None  # hackernews: the item API (default: the official one)

    @model_validator(mode="before")
    @classmethod
    def _kind_defaults(cls, data: object) -> object:
        return with_defaults(data)  # default URLs; social kinds' top-level keys to rules

    @model_validator(mode="after")
    def _kind_options(self) -> SourceConfig:
        rules = checked_rules(self.kind, self.url, self.rules, self.preset, self.page,
                              self.query, self.items_url)  # "field: message" errors
        object.__setattr__(self, "rules", rules)
        return self

    @field_validator("url")
    @classmethod
    def _source_url(cls, url: str, info: ValidationInfo) -> str:
        problem = source_url_problem(info.data.get("kind"), url)
        if problem:
            raise ValueError(problem)
        return url


class ChannelConfig(_Strict):
    """Where alerts go and which ones. Lower tiers get alerts as they happen; tier
    1, 2 ... get an alert nobody acknowledged within its playbook's response time."""

    name: str = Field(min_length=1)
    tags: list[str] = []  # apprise tags: url is an apprise config; notify its entries with these
    url: str
    min_severity: Severity = "notice"
    brands: list[str] = []  # only these brands; empty: all
    tier: int = Field(default=0, ge=0, le=9)
    format: Literal["plain", "markdown", "html"] = "plain"
    quiet_hours: str | None = None  # "22:00-07:00": held until the end, unless severe enough
    timezone: str = "UTC"  # of quiet_hours
    quiet_override: Severity = "crisis"  # this severity and above is sent even in quiet hours
    rate_limit: str | None = None  # "10/1h": more than that in the period go to the digest
    digest: Severity | None = None  # alerts of this severity and below are sent as a digest
    digest_every: Duration = 3600.0

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str | None) -> str | None:
        if value is not None:
            parse_quiet_hours(value)
        return value

    @field_validator("rate_limit")
    @classmethod
    def _rate(cls, value: str | None) -> str | None:
        if value is not None:
            parse_rate(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_zone(value)

    @field_validator("url")
    @classmethod
    def _apprise_url(cls, url: str, info: ValidationInfo) -> str:
        scheme = url.split("://", 1)[0] if "://" in url else url[:12]
        if info.data.get("tags"):  # the URL names an apprise configuration with tagged entries
            if not apprise.AppriseConfig().add(url):
                raise ValueError(said("with tags, this must be an apprise configuration "
                                      "(file://... or http(s)://...), not scheme %(scheme)r",
                                      scheme=scheme))
        elif not apprise.Apprise().add(url):
            raise ValueError(said("not a URL apprise can notify (scheme %(scheme)r)",
                                  scheme=scheme))
        return url


class FetchConfig(_Strict):
    """Limits and manners of every fetch (Scrapy's DOWNLOAD_TIMEOUT, DOWNLOAD_MAXSIZE,
    RETRY_TIMES, CONCURRENT_REQUESTS_PER_DOMAIN, AutoThrottle, USER_AGENT)."""

    timeout: Timeout = 20.0
    max_size_mb: float = Field(default=15.0, gt=0, le=1024)
    retries: int = Field(default=2, ge=0, le=10)
    per_domain: int = Field(default=2, ge=1, le=32)
    autothrottle: bool = True
    contact: str | None = None  # a URL or e-mail put in the User-Agent for site owners
    # a crawl worker's hold on a source it claimed (crawlers/claims.py): renewed every
    # third; a dead worker's sources go to the others once it runs out
    lease: Duration = Field(default=90.0, ge=3)


class ScoringConfig(_Strict):
    """Sentiment backend per language (snownlp | vader | fast | trained | a model path)
    and the share of complaints the printed probability assumes."""

    zh: str = "fast"
    en: str = "fast"
    # the share of complaints among the posts on your sources: the probability
    # `score` prints is re-read under it, not under the training data's mix
    complaint_share: float = Field(default=0.1, gt=0, lt=1)


class DetectionConfig(Thresholds):
    risk_threshold: float = Field(default=0.5, ge=0, le=1)
    incident_quiet: Duration = 6 * 3600.0
    hot_for: Duration = 6 * 3600.0  # how long a thread with a flagged mention stays hot
    lookback: Duration = 7 * 86400.0  # a post published longer before its fetch never alerts


class ConsoleConfig(_Strict):
    """The web console. URLs typed into it (sources, channels) may not reach private,
    loopback or link-local addresses unless listed here (CIDRs or host names)."""

    allow_private: list[str] = []
    # times shown in the console; default: the first channel's (console_timezone)
    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else check_zone(value)

    @field_validator("allow_private")
    @classmethod
    def _networks(cls, values: list[str]) -> list[str]:
        import ipaddress

        for v in values:
            if "/" in v or v.replace(".", "").isdigit() or ":" in v:
                try:
                    ipaddress.ip_network(v, strict=False)
                except ValueError:
                    raise ValueError(said("%(value)r is not a network (10.0.0.0/8) or host name",
                                          value=v)) from None
            elif not v.strip():
                raise ValueError(said("must not contain empty strings"))
        return values


class SilenceConfig(_Strict):
    """A source that posted on ``active_days`` of the ``days`` before its last post and
    has been quiet longer than ``min_gap`` and ``gap_factor`` times its median gap
    raises one "source went silent" alert (monitor/detection/silence.py)."""

    enabled: bool = True
    days: int = Field(default=7, ge=2, le=30)
    active_days: int = Field(default=5, ge=1, le=30)
    min_gap: Duration = 86400.0
    gap_factor: float = Field(default=3.0, ge=1)


class AlertsConfig(_Strict):
    """Delivery: attempts before a message is dead-lettered (``alerts failed``/``retry``)."""

    max_attempts: int = Field(default=8, ge=1, le=100)
    # a dispatcher's hold on a delivery it is sending: a dead one's go to the others
    # after this (the one it was sending when it died may arrive twice)
    lease: Duration = Field(default=120.0, ge=3)
    silent_source: SilenceConfig = SilenceConfig()


class MetricsConfig(_Strict):
    """``crisiswatch run``'s /metrics, /healthz and /readyz; off until ``port`` is set.
    /readyz fails when a stage's oldest waiting work is older than ``ready_lag``."""

    port: int | None = Field(default=None, ge=0, le=65535)
    host: str = "127.0.0.1"
    ready_lag: Duration = 300.0


def console_timezone(config: Config) -> str | None:
    """``console.timezone``, else the first channel's ``timezone`` where the file sets
    one (the team's own zone: quiet hours are written in it); None when neither says."""
    if config.console.timezone:
        return config.console.timezone
    return next((c.timezone for c in config.channels if "timezone" in c.model_fields_set),
                None)


def source_lookbacks(config: Config) -> dict[str, float]:
    """``sources[].lookback`` by source name, where set."""
    return {s.name: s.lookback for s in config.sources if s.lookback is not None}


class Config(_Strict):
    database: str = "sqlite:///crisiswatch.db"
    brands: list[BrandConfig] = []
    sources: list[SourceConfig] = []
    channels: list[ChannelConfig] = []
    data_dir: str = "."  # trained models go in <data_dir>/models; relative to the config file
    fetch: FetchConfig = FetchConfig()
    scoring: ScoringConfig = ScoringConfig()
    detection: DetectionConfig = DetectionConfig()
    alerts: AlertsConfig = AlertsConfig()
    console: ConsoleConfig = ConsoleConfig()
    metrics: MetricsConfig = MetricsConfig()
    playbooks_dir: str | None = None  # your own playbooks: add to or replace the built-in ones
    templates_dir: str | None = None  # your own message templates, searched first
    console_url: str | None = None  # base URL of the web console: messages get an ack link

    @field_validator("database")
    @classmethod
    def _sqlalchemy_url(cls, url: str) -> str:
        try:
            make_url(url)
        except Exception as exc:  # sqlalchemy raises ArgumentError with a vague text
            raise ValueError(f"{url!r} is not a SQLAlchemy database URL") from exc
        return url

    @model_validator(mode="after")
    def _unique_names(self) -> Config:
        for section in ("brands", "sources", "channels"):
            seen: set[str] = set()
            for i, item in enumerate(getattr(self, section)):
                key = item.name.casefold()
                if key in seen:
                    raise ValueError(f"{section}[{i}].name: duplicate name {item.name!r}")
                seen.add(key)
        allowed = plain_allowed(self.console.allow_private)
        for i, src in enumerate(self.sources):  # plain ws:// only where the operator says
            if src.kind == "bluesky" and (problem := check_endpoint(src.url, allowed)):
                raise ValueError(f"sources[{i}].url: {problem}")
        brands = {b.name.casefold() for b in self.brands}
        for i, ch in enumerate(self.channels):
            for name in ch.brands:
                if name.casefold() not in brands:
                    raise ValueError(f"channels[{i}].brands: {name!r} is not one of brands[].name")
        return self


def format_errors(exc: ValidationError, node: yaml.Node | None = None) -> str:
    """One line per problem: ``key.path: what is wrong (line N)``, the line of the
    file when its node tree is given."""
    lines = []
    for err in exc.errors():
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] in ("literal_error", "int_parsing", "float_parsing", "list_type",
                             "string_type", "dict_type", "model_type"):
            msg = f"{msg} (got {err['input']!r})"
        line = line_of(node, err["loc"])
        lines.append((f"{loc}: {msg}" if loc else msg) + (f" (line {line})" if line else ""))
    return "\n".join(lines)


def resolve_sqlite(url: str, base: Path) -> str:
    """Relative SQLite paths are relative to the config file, not to the cwd of the day."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return url
    if parsed.database == ":memory:" or Path(parsed.database).is_absolute():
        return url
    return parsed.set(database=str((base / parsed.database).resolve())).render_as_string(
        hide_password=False
    )


def parse_config(data: object, *, base: Path, env: dict[str, str] | None = None,
                 node: yaml.Node | None = None) -> Config:
    """Validate a loaded YAML document (its ``node`` tree, if given, puts line
    numbers in the errors); apply the environment override."""
    env = os.environ if env is None else env
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("(top level): expected a mapping of keys such as brands, sources")
    if env.get(ENV_DATABASE):
        data = {**data, "database": env[ENV_DATABASE]}
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_errors(exc, node)) from None
    return config.model_copy(update={"database": resolve_sqlite(config.database, base),
                                     "data_dir": _resolve_dir(config.data_dir, base),
                                     "playbooks_dir": _resolve_dir(config.playbooks_dir, base),
                                     "templates_dir": _resolve_dir(config.templates_dir, base)})


def _resolve_dir(folder: str | None, base: Path) -> str | None:
    """Folders in the file are relative to the file."""
    if folder is None:
        return None
    path = Path(folder).expanduser()
    return str(path if path.is_absolute() else (base / path).resolve())


def load_config(path: str | Path, *, env: dict[str, str] | None = None) -> Config:
    """Read and validate ``path``; raise ``ConfigError`` naming the problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    try:
        # strict: no duplicate keys, no aliases, no deep nesting
        data, node = load_yaml(text, name=str(path))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_config(data, base=path.resolve().parent, env=env, node=node)
