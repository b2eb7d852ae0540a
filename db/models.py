"""Tables of the one-way flow: Source -> Post -> Mention -> Incident -> Alert -> Delivery.

Each stage reads the rows the stage before it wrote and records its progress
in a state column (``Post.scored_at``, ``Mention.incident_id``, ``Alert.rendered_at``,
``Delivery.status``, ``EngagementSnapshot.detected_at``), so any stage can be
stopped and re-run without losing or duplicating anything downstream.
Timestamps are timezone-aware UTC (SQLModel stores UTC and hands back aware values).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

SEVERITIES = ("notice", "warning", "crisis")


def utcnow() -> datetime:
    """Aware UTC now: the one clock every table uses."""
    return datetime.now(UTC)


def as_utc(when: datetime) -> datetime:
    """``when`` as aware UTC; a naive value (SQLite hands some back) is taken as UTC."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


class Brand(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    keywords: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    exclude: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # language -> the brand's name in holding statements in that language
    names: dict[str, str] = Field(default_factory=dict,
                                  sa_column=Column(JSON, nullable=False, server_default="{}"))
    enabled: bool = True
    managed_by: str = "config"
    # a pause made in the console: the config sync keeps the row disabled until the
    # console resumes it (monitor/stages/sync.py), and the console shows who and when
    paused_by: str | None = None
    paused_at: datetime | None = None


class Source(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    kind: str = "feed"  # feed | forum | discourse | bluesky | hackernews | mastodon | reddit
    url: str
    interval_s: int = 300
    # forums: a preset and/or extraction rules; whether the URL is a thread list or one thread
    # (mastodon: the streams to read, crawlers/mastodon.py)
    preset: str | None = None
    rules: dict | None = Field(default=None, sa_column=Column(JSON))
    page: str = "listing"
    obey_robots: bool = True
    hot_interval_s: int = 60
    enabled: bool = True
    managed_by: str = "config"
    # a pause made in the console: the config sync keeps the row disabled until the
    # console resumes it (monitor/stages/sync.py), and the console shows who and when
    paused_by: str | None = None
    paused_at: datetime | None = None
    # conditional GET validators, sent back on the next poll
    etag: str | None = None
    last_modified: str | None = None
    # search and stream sources: where each stream's next read resumes, saved with the
    # posts it covers (hackernews: {"search": "time:id"}; mastodon: newest id per stream)
    cursor: dict | None = Field(default=None, sa_column=Column(JSON))
    # health: what an admin needs to see whether the source works
    last_fetch_at: datetime | None = None
    last_success_at: datetime | None = None
    last_status: int | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    error_count: int = 0
    consecutive_errors: int = 0
    # indexed: a crawl worker's claim reads only the due rows (crawlers/claims.py)
    next_poll_at: datetime | None = Field(default=None, index=True)
    posts_seen: int = 0
    # what was odd about the last fetch even if it worked: bytes replaced, GUIDs
    # shared, a Retry-After obeyed (or capped)
    health_note: str | None = Field(default=None, sa_column=Column(Text))
    # streams (kind bluesky): where a restart resumes (Jetstream's time_us of the last
    # event processed, written in the same transaction as the posts it covers), the
    # connection's state (connected | reconnecting | stopped) and the time of the last
    # event processed: now minus that is the lag
    stream_cursor: int | None = Field(default=None, sa_column=Column(BigInteger))
    stream_state: str | None = None
    stream_event_at: datetime | None = None
    # the crawl worker polling it now and until when (the database's clock): a
    # lease, so two workers never poll it at once and a dead one's lapses
    lease_owner: str | None = None
    lease_until: datetime | None = None


class Thread(SQLModel, table=True):
    """A forum thread: where to resume reading it and what the listing last showed.

    ``crawled_signature`` is the listing's (replies, last post) when the thread was
    last read to its end, so an unchanged thread is not fetched again."""

    __table_args__ = (UniqueConstraint("source_id", "key", name="uq_thread_key"),)
    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id", index=True)
    key: str
    url: str
    title: str = ""
    replies: int | None = None
    views: int | None = None
    likes: int | None = None  # points of a Hacker News story
    last_post_at: datetime | None = None
    first_seen_at: datetime = Field(default_factory=utcnow)
    last_visit_at: datetime | None = None
    resume_url: str | None = None
    crawled_signature: str | None = None
    hot_until: datetime | None = Field(default=None, index=True)
    next_visit_at: datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))


class Post(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("source_id", "entry_key", name="uq_post_entry"),
        UniqueConstraint("source_id", "fingerprint", name="uq_post_fingerprint"),
    )
    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id", index=True)
    entry_key: str
    fingerprint: str
    url: str | None = None
    title: str = ""
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    author: str | None = None
    published_at: datetime | None = None
    fetched_at: datetime = Field(default_factory=utcnow)
    replies: int | None = None
    likes: int | None = None
    shares: int | None = None  # boosts, reposts (social networks)
    thread_id: int | None = Field(default=None, foreign_key="thread.id", index=True)
    # set with its mentions by the monitor stage: what marks a post done, whatever the
    # order in which concurrent writers commit ids (an id cursor skips late commits)
    scored_at: datetime | None = None


class EngagementSnapshot(SQLModel, table=True):
    """Counters of a post or a thread each time they were seen to change:
    growth is the signal."""

    id: int | None = Field(default=None, primary_key=True)
    post_id: int | None = Field(default=None, foreign_key="post.id", index=True)
    thread_id: int | None = Field(default=None, foreign_key="thread.id", index=True)
    seen_at: datetime = Field(default_factory=utcnow)
    replies: int | None = None
    views: int | None = None
    likes: int | None = None
    shares: int | None = None
    # set when detection has re-assessed the incidents it touches (claimed by state,
    # like Post.scored_at: an id cursor skips a snapshot that commits late)
    detected_at: datetime | None = None


class Mention(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("post_id", "brand_id", name="uq_mention_post_brand"),)
    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    brand_id: int = Field(foreign_key="brand.id", index=True)
    language: str = "en"
    sentiment: float = 0.5  # probability the post is positive
    risk: float = 0.0
    flagged: bool = Field(default=False, index=True)
    strong: bool = False
    cues: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    scored_at: datetime = Field(default_factory=utcnow)
    # indexed where set (ix_mention_incident_id, below): "IS NULL" is the detect queue's
    incident_id: int | None = Field(default=None, foreign_key="incident.id")
    severity: str | None = None  # the incident's severity once this mention was counted
    # how detection grouped it: SimHash of the text, salient terms, and why it joined
    fingerprint: int | None = Field(default=None, sa_column=Column(BigInteger))
    terms: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False,
                                                                    server_default="[]"))
    grouped_by: str | None = None


class Incident(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(foreign_key="brand.id", index=True)
    opened_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    severity: str | None = None
    mention_count: int = 0
    source_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    cues: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    title: str = ""  # the matter in a few words: the first post's title or text
    category: str | None = None  # a guess (monitor.detection.category): safety_incident, ...
    category_confidence: float = 0.0
    # what new mentions are matched against (monitor.detection.grouping.IncidentKey)
    thread_keys: list[str] = Field(default_factory=list,
                                   sa_column=Column(JSON, nullable=False, server_default="[]"))
    fingerprints: list[int] = Field(default_factory=list,
                                    sa_column=Column(JSON, nullable=False, server_default="[]"))
    part_prints: list[int] = Field(default_factory=list,  # copied parts' (see grouping.py)
                                   sa_column=Column(JSON, nullable=False, server_default="[]"))
    term_counts: dict[str, int] = Field(default_factory=dict,
                                        sa_column=Column(JSON, nullable=False,
                                                         server_default="{}"))
    # the latest signal readings, for `crisiswatch incidents` and the console
    signals: dict = Field(default_factory=dict,
                          sa_column=Column(JSON, nullable=False, server_default="{}"))
    assessed_at: datetime | None = None
    acknowledged_at: datetime | None = None
    reminded_at: datetime | None = None
    # the first public reply and the playbook's promise: seed 001's trust score
    first_reply_at: datetime | None = None
    reply_promised_s: float | None = None
    resolved_at: datetime | None = None
    # a fragment absorbed by another incident about the same matter (grouping's merge);
    # it is resolved then, and its mentions are the other's
    merged_into: int | None = None


class IncidentChange(SQLModel, table=True):
    """The severity history of an incident: every rise (and reminder), with why."""

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    at: datetime = Field(default_factory=utcnow)
    severity: str
    kind: str = "rise"  # rise | reminder | reopened | merged
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Alert(SQLModel, table=True):
    """One per severity rise of an incident; ``dedup_key`` is reused on every resend.

    ``kind`` "source_silent" is a system alert about a source, not an incident: it has
    ``source_id`` and no incident or brand, is stored rendered, goes to the channels
    that take every brand, never escalates, and is resolved when the source posts
    again (monitor/stages/silence.py)."""

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)
    brand_id: int | None = Field(default=None, foreign_key="brand.id")
    kind: str = Field(default="incident", sa_column_kwargs={"server_default": "incident"})
    source_id: int | None = None  # no foreign key: deleting a source keeps its alert
    severity: str
    dedup_key: str = Field(unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    post_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    playbook: str | None = None
    title: str | None = None
    body: str | None = Field(default=None, sa_column=Column(Text))
    rendered_at: datetime | None = Field(default=None, index=True)
    # the PR team's work on it: open -> (escalated) -> acknowledged -> resolved
    status: str = Field(default="open", index=True)
    respond_by: datetime | None = None  # created_at + the playbook's response time
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    escalation_tier: int = 0  # highest channel tier it was escalated to
    escalated_at: datetime | None = None


class Channel(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    url: str  # an apprise URL; may hold a secret, never print it whole
    min_severity: str = "notice"
    enabled: bool = True
    managed_by: str = "config"
    # a pause made in the console: the config sync keeps the row disabled until the
    # console resumes it (monitor/stages/sync.py), and the console shows who and when
    paused_by: str | None = None
    paused_at: datetime | None = None
    # routing: which alerts, in what format, when (see alerts/routing.py)
    brands: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    tier: int = 0  # 0: alerts as they happen; 1, 2 ...: escalations
    format: str = "plain"  # plain | markdown | html
    quiet_hours: str | None = None  # "22:00-07:00"
    timezone: str = "UTC"
    quiet_override: str = "crisis"
    rate_limit: str | None = None  # "10/1h"
    digest: str | None = None  # this severity and below go to a digest
    digest_every_s: int = 3600
    last_digest_at: datetime | None = None


class Delivery(SQLModel, table=True):
    """The outbox: one row per (alert, channel, kind); sent at most once, retried until
    then, dead-lettered after ``alerts.max_attempts``. A digest row points at the newest
    alert it carries and lists all of them in ``members``."""

    __table_args__ = (UniqueConstraint("alert_id", "channel_id", "kind", name="uq_delivery"),)
    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", index=True)
    channel_id: int = Field(foreign_key="channel.id")
    # pending | sending | sent | held (waits for a digest) | digested | dead
    status: str = Field(default="pending", index=True)
    kind: str = "alert"  # alert | digest | escalation
    members: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    claimed_until: datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None


class StageCursor(SQLModel, table=True):
    """How far a stage had read its input table (highest id processed). No longer
    written: an id cursor skips rows that commit late (migration 0013 turned its
    positions into the state columns above)."""

    name: str = Field(primary_key=True)
    position: int = 0
    updated_at: datetime = Field(default_factory=utcnow)


# --------------------------------------------------------------- console accounts

ROLES = ("admin", "analyst", "pr")
INTERFACE_LANGUAGES = ("zh", "en")  # the console's own words (web/i18n.py)


class User(SQLModel, table=True):
    """A console account. Only an argon2 hash of the password is kept; ``disabled``
    locks the account and makes its sessions and API tokens stop working."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    role: str = "analyst"  # admin | analyst | pr
    password_hash: str
    created_at: datetime = Field(default_factory=utcnow)
    disabled: bool = False
    # the console's language as the user chose it; None: follow the browser
    language: str | None = None


class WebSession(SQLModel, table=True):
    """A console login, server-side so logout and disabling revoke it at once. The
    cookie holds a random token; only its SHA-256 is stored."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    csrf_token: str
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)


class ApiToken(SQLModel, table=True):
    """A bearer token for the JSON API; shown once at creation, only its SHA-256 kept."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    name: str
    token_hash: str = Field(unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None


# Indexes the console's history queries need (monitor/history/search.py): flagged posts newest
# first, or by risk or sentiment, must stay fast with millions of posts. Declared here,
# outside the classes above, so those tables' definitions stay as they were.
Index("ix_post_fetched_at", Post.__table__.c.fetched_at)
Index("ix_post_unscored", Post.__table__.c.id, postgresql_where=text("scored_at IS NULL"),
      sqlite_where=text("scored_at IS NULL"))  # the monitor stage's queue
Index("ix_engagementsnapshot_undetected", EngagementSnapshot.__table__.c.id,
      postgresql_where=text("detected_at IS NULL"), sqlite_where=text("detected_at IS NULL"))
Index("ix_mention_pending", Mention.__table__.c.id,
      postgresql_where=text("incident_id IS NULL AND grouped_by IS NULL"),
      sqlite_where=text("incident_id IS NULL AND grouped_by IS NULL"))  # the detect queue
Index("ix_mention_incident_id", Mention.__table__.c.incident_id,
      postgresql_where=text("incident_id IS NOT NULL"),
      sqlite_where=text("incident_id IS NOT NULL"))  # an incident's mentions (0023)
Index("ix_incident_brand_seen", Incident.__table__.c.brand_id,
      Incident.__table__.c.last_seen_at)  # grouping's candidates (monitor/stages/merge.py)
Index("ix_mention_flagged_risk", Mention.__table__.c.flagged, Mention.__table__.c.risk)
Index("ix_mention_flagged_sentiment", Mention.__table__.c.flagged,
      Mention.__table__.c.sentiment)
