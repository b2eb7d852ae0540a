"""The demo's scripted minute: chatter, praise, then a complaint thread that
draws replies, is reposted on a news site and turns into a threat to go to the
media. Times are script seconds (``--speed`` plays them faster). Forum posts
are Entries whose ``title`` is the author."""

from __future__ import annotations

from monitor.lab.localsite import Entry, ForumThread

DURATION = 60.0
BRAND = {"name": "Acme", "keywords": ["Acme", "艾克美", "acme phone"], "exclude": ["acme anvil"]}

_REPLIES = ["Same here, support ignored my emails for a week. Really disappointed with Acme.",
            "+1, mine freezes too", "Did you try a factory reset?", "following",
            "This happened to my brother as well", "Bumping this, still no answer"]

THREADS = [
    ForumThread(1, "Best hiking trail near the city?",
                [Entry("101", "walker", "Looking for a half-day walk.", 0)]),
    ForumThread(2, "Loving my new Acme phone",
                [Entry("201", "mia", "The camera is great and the battery lasts two days.", 6)]),
    ForumThread(3, "Acme phone keeps freezing and support was rude",
                [Entry("301", "anna", "My Acme phone freezes every hour. Support said it's "
                       "company policy and hung up on me. I want a refund.", 16)]
                + [Entry(f"30{i + 2}", f"user{i}", text, 24) for i, text in enumerate(_REPLIES)]),
    ForumThread(4, "Acme anvil on sale",
                [Entry("401", "deals", "The acme anvil is half price this week.", 44)]),
]

NEWS = [
    Entry("n1", "Globex opens a flagship store downtown", "Shoppers queued from 8 am.", 0),
    Entry("n2", "Acme unveils the Acme Phone 7", "A bigger battery and a new camera.", 4),
    Entry("n3", "艾克美新款手機今日開賣", "門店排起長隊，不少顧客一早就來了。", 10),
    Entry("n4", "Acme phone keeps freezing, and customers say support was rude",
          "转发：艾克美手机频繁死机，客服推诿不理人，已经在网上疯传，网友表示要找记者曝光。", 40),
    Entry("n5", "Weekend weather: sunny and mild", "No rain expected.", 50),
]

FEEDS = {"news": NEWS}
EXPECTED = ("notice", "warning", "crisis")
