"""Issue 15's lifecycle cases across sources, as scripted streams: real SQLite, the
real scorer, the monitor and detect stages and the outbox's planning, on a clock the
test sets. A complaint reposted on a news site is one matter on two sources; a
crisis that threatens both the courts and the press gets the 2 h legal playbook;
the holding statement for a forum complaint names no store, and names the brand
as the post's language does."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from alerts.outbox import plan_deliveries
from alerts.playbooks import load_playbooks
from db.engine import open_database, session
from db.models import Alert, Incident, Mention, Post, Source, Thread
from monitor.config import Config, parse_config
from monitor.detection.severity import Rules
from monitor.history.incidents import list_incidents
from monitor.scoring.backends import scorer_for
from monitor.stages.detect import run_detect
from monitor.stages.score import run_monitor
from monitor.stages.sync import sync_config

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
QUIET = timedelta(hours=6)
CONFIG = Config()

ZH_TITLE = "Acme手机发烫"
ZH_POST = ("我的Acme手机充电的时候烫得根本拿不住，后盖都鼓起来了，找客服三次都说是正常现象，"
           "太让人失望了。")
ZH_REPLY = "我的也是，Acme手机一充电就发烫，客服说正常，太敷衍了"
EN_TITLE = "Acme phone overheating"
EN_POST = ("My Acme phone overheats every time I charge it, too hot to hold, and support told "
           "me three times it is normal. Useless and rude.")
EN_REPLY = ("Same with mine, the Acme phone overheats on the charger and support just "
            "shrugs. Terrible.")

# How a news site or a Weibo/Twitter repost carries the complaint: (title, text).
REPOSTS = {
    "zh prefix": ("", "转发：" + ZH_POST),
    "zh headline": ("网友投诉Acme手机充电发烫鼓包 客服称正常", ZH_POST),
    "zh trailing via": ("", ZH_POST + " via @科技新闻"),
    "zh comment and chain": ("", "这也太吓人了吧，大家注意！//@数码小王: " + ZH_POST),
    "zh news report": ("Acme手机被曝充电发烫 客服称属正常现象",
                       "本报讯 近日，有网友在数码论坛发帖称：“" + ZH_POST + "”记者随后联系了"
                       "Acme客服，对方表示将进一步核实情况。业内人士提醒，手机充电时如出现异常"
                       "发热，应立即停止使用。"),
    "en news report": ("Acme phone owners report overheating while charging",
                       "A reader wrote on a tech forum this week: \"" + EN_POST + "\" We "
                       "contacted Acme for comment and were told the company is looking into "
                       "it. Experts advise stopping use of any phone that becomes very hot "
                       "while charging."),
    "en RT": ("", "RT @jane: " + EN_POST),
    "en headline": ("Acme customer says phone overheats and gets too hot to hold, support "
                    "shrugs", EN_POST),
    "en trailing via": ("", EN_POST + " via @technews"),
    "en comment and RT": ("", "This is scary, be careful everyone. RT @jane: " + EN_POST),
}


def _engine(tmp_path: Path, **brand: object):  # noqa: ANN202 - Engine
    url = f"sqlite:///{tmp_path / 'cw.db'}"
    engine = open_database(url)
    brands = [{"name": "Acme", "keywords": ["Acme", "艾克美"], **brand}]
    sync_config(engine, parse_config({"database": url, "brands": brands},
                                     base=tmp_path, env={}))
    with session(engine) as s, s.begin():
        forum = Source(name="forum", kind="forum", url="https://forum.example/")
        s.add_all([forum, Source(name="news", url="https://news.example/feed.xml")])
        s.flush()
        s.add(Thread(source_id=forum.id, key="t1", url="https://forum.example/t/1",
                     title="thread", first_seen_at=T0))
    return engine


def _post(engine, source: str, title: str, text: str, minutes: int) -> None:  # noqa: ANN001
    """A post fetched ``minutes`` after T0, then both stages run at that time. Forum
    posts are in the one thread; news items stand alone."""
    at = T0 + timedelta(minutes=minutes)
    with session(engine) as s, s.begin():
        src = s.exec(select(Source).where(Source.name == source)).one()
        thread = s.exec(select(Thread)).one() if source == "forum" else None
        n = len(s.exec(select(Post)).all())
        s.add(Post(source_id=src.id, thread_id=thread.id if thread else None,
                   entry_key=f"p{n}", fingerprint=f"f{n}", url=f"https://{source}.example/{n}",
                   title=title, text=text, fetched_at=at, published_at=at))
    run_monitor(engine, scorer_for(CONFIG), CONFIG.detection.risk_threshold)
    run_detect(engine, Rules(), QUIET, now=at)


# A phone brand's everyday mentions of the week before: its customers talk about
# phones, charging and support all the time, so those words join nothing.
CHATTER = {
    "zh": ["Acme手机充电很快，半小时就满了", "新买的Acme手机拍照不错，后盖颜色也好看",
           "Acme手机客服回复挺快的，问题解决了", "有人用过Acme手机吗？充电发热正常吗",
           "Acme手机的屏幕真清楚，玩游戏很流畅", "Acme手机电池很耐用，一天一充"],
    "en": ["Love my new Acme phone, charging is really fast", "Is the Acme phone worth it? "
           "How is the battery when charging?", "Acme support answered my question about the "
           "phone within minutes", "The Acme phone camera is great, the back cover looks nice",
           "My Acme phone gets a bit warm while gaming, normal?", "Acme phone battery lasts all "
           "day, charging overnight is plenty"],
}


def _chatter(engine, lang: str) -> None:  # noqa: ANN001
    """Five days of everyday mentions, a week before the stream, through the stages."""
    for day in range(2, 7):
        for n, text in enumerate(CHATTER[lang]):
            _post(engine, "news", "", text, -day * 24 * 60 + n)


def _alerts(engine) -> list[Alert]:  # noqa: ANN001
    """The alerts of the stream (not of the chatter before it)."""
    with session(engine) as s:
        return list(s.exec(select(Alert).where(Alert.created_at >= T0)
                           .order_by(Alert.id)).all())


def _stream_mentions(engine) -> list[Mention]:  # noqa: ANN001
    with session(engine) as s:
        return list(s.exec(select(Mention).join(Post, Mention.post_id == Post.id)
                           .where(Post.fetched_at >= T0).order_by(Mention.id)).all())


@pytest.mark.parametrize("form", sorted(REPOSTS))
def test_a_repost_on_a_second_source_joins_and_the_crisis_says_two_sources(
        tmp_path: Path, form: str) -> None:
    engine = _engine(tmp_path)
    zh = form.startswith("zh")
    _chatter(engine, "zh" if zh else "en")
    _post(engine, "forum", ZH_TITLE if zh else EN_TITLE, ZH_POST if zh else EN_POST, 0)
    _post(engine, "forum", "", ZH_REPLY if zh else EN_REPLY, 10)
    assert [a.severity for a in _alerts(engine)] == ["notice"]  # one forum thread: no crisis
    _post(engine, "news", *REPOSTS[form], 20)

    mentions = _stream_mentions(engine)
    assert [m.flagged for m in mentions] == [True, True, True]
    assert len({m.incident_id for m in mentions}) == 1, [m.grouped_by for m in mentions]
    assert mentions[-1].grouped_by.startswith(
        f"near-duplicate of a post in incident #{mentions[0].incident_id}")
    listed = [i for i in list_incidents(engine) if i["id"] == mentions[0].incident_id]
    assert [(i["sources"], i["mentions"], i["severity"]) for i in listed] == [(2, 3, "crisis")]
    crisis = _alerts(engine)[-1]
    assert crisis.severity == "crisis"
    assert "now on 2 sources: forum, news" in crisis.reasons


def test_a_different_complaint_on_the_second_source_stays_its_own_incident(
        tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    _post(engine, "forum", EN_TITLE, EN_POST, 0)
    _post(engine, "news", "Acme store overcharges shoppers",
          "The cashier at the Acme store on Main Street charged me twice for one basket "
          "and the manager refused a refund. Rude and dishonest.", 10)
    with session(engine) as s:
        incidents = s.exec(select(Incident).order_by(Incident.id)).all()
    assert [inc.source_ids for inc in incidents] == [[1], [2]]


# Mostly about rude service, with a threat to sue and to go to the press: the
# category guess counts words and says service attitude.
LEGAL_AND_MEDIA = {
    "zh": ("Acme客服态度恶劣，敷衍推诿，店员爱答不理还骂人，服务太差了。我已经联系律师准备起诉，"
           "也已经投诉给媒体曝光。",
           "Acme的客服态度真的差，敷衍了事，店员还甩脸色，服务太恶劣",
           "同感，Acme服务态度太恶劣了，客服推诿不理人，支持找律师起诉、找媒体曝光"),
    "en": ("Acme support was rude and dismissive, the staff ignored me and the manager was "
           "condescending. Terrible service and attitude. I have contacted my lawyer and will "
           "sue, and I have sent the whole story to a journalist at the local TV news.",
           "Acme staff were rude to me too, awful attitude, the support agent hung up on me.",
           "Same rude, dismissive service from Acme support. Go to the press and sue them."),
}


@pytest.mark.parametrize("lang", sorted(LEGAL_AND_MEDIA))
def test_a_legal_and_media_crisis_gets_the_two_hour_legal_playbook(tmp_path: Path,
                                                                    lang: str) -> None:
    """Rude service is what these posts mostly say, but the courts and the press set
    the clock: the legal playbook's 2 h (legal, then media), not service attitude's 4 h."""
    engine = _engine(tmp_path)
    opener, *replies = LEGAL_AND_MEDIA[lang]
    _post(engine, "forum", "Acme", opener, 0)
    for n, reply in enumerate(replies, 1):
        _post(engine, "forum", "", reply, 10 * n)
    books = load_playbooks()
    assert plan_deliveries(engine, books, now=T0 + timedelta(minutes=30)) == 0  # no channels
    alerts = _alerts(engine)
    assert [a.severity for a in alerts] == ["notice", "crisis"]
    with session(engine) as s:
        incident = s.exec(select(Incident)).one()
    assert incident.category == "service_attitude"
    assert {"legal_threat", "media_exposure", "service_attitude"} <= set(incident.cues)
    legal = next(b for b in books if b.name == "legal_threat")
    for alert in alerts:
        assert alert.playbook == "legal_threat"
        assert alert.respond_by - alert.created_at == timedelta(hours=2)
        assert f"Playbook: {legal.text('title', lang)} (legal_threat)" in alert.body
        assert "respond within 2h" in alert.body


# Issue 15: "在Acme门店的经历" for a forum complaint about an overheating phone.
SERVICE = {
    "zh": ("Acme手机充电发烫，客服态度恶劣，敷衍推诿，爱答不理，服务太差了",
           "非常抱歉您在艾克美的经历给您带来了困扰"),
    "en": ("My Acme phone gets hot when charging and the support staff were rude, dismissive "
           "and ignored me. Terrible service.",
           "We are sorry about your experience with Acme, and we understand"),
}


@pytest.mark.parametrize("lang", sorted(SERVICE))
def test_the_holding_statement_for_a_forum_complaint_names_no_store(tmp_path: Path,
                                                                     lang: str) -> None:
    engine = _engine(tmp_path, names={"zh": "艾克美"})
    text, statement = SERVICE[lang]
    _post(engine, "forum", "", text, 0)
    plan_deliveries(engine, load_playbooks(), now=T0 + timedelta(minutes=5))
    alert = _alerts(engine)[0]
    assert alert.playbook == "service_attitude"
    said = alert.body.split("Holding statement: ", 1)[1].split("\n", 1)[0]
    assert said.startswith(statement)
    assert not re.search(r"门店|store|location|[{}\[\]]", said), said
    assert "Brand: Acme" in alert.body  # the team's own name for it stays in the header
