"""Scrapy settings for the watch spider: one place for politeness, limits and retries.

``scrapy list`` / ``scrapy crawl watch -s CRISISWATCH_DATABASE=...`` work from the
checkout because ``scrapy.cfg`` points here.
"""

BOT_NAME = "crisiswatch"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

USER_AGENT = "crisiswatch/0.1 (brand monitoring; +https://github.com/crisiswatch/crisiswatch)"
# Politeness by default: robots.txt (a source may opt out), a small per-domain
# concurrency, AutoThrottle adapting the delay to the site's latency, and a
# User-Agent that says who we are (``fetch.contact`` adds a URL or e-mail).
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
REDIRECT_MAX_TIMES = 10
# Scrapy starts this many asyncio tasks for every response's output, however few
# items it holds (scrapy.utils.asyncio._parallel_asyncio); the default 100 made task
# creation about a tenth of a crawl worker's reactor time (issue 20, py-spy). A
# response here yields a handful of items and requests, and the store writer takes
# the items one transaction at a time anyway.
CONCURRENT_ITEMS = 8

# feedparser never fetches: Scrapy does, with a total deadline and a size cap
# that HttpCompressionMiddleware also applies after decompression.
DOWNLOAD_TIMEOUT = 20
DOWNLOAD_MAXSIZE = 15 * 1024 * 1024
DOWNLOAD_WARNSIZE = 5 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 2
# 429 and 503 are not retried at once: the source backs off, never sooner than
# the server's Retry-After.
RETRY_HTTP_CODES = [500, 502, 504, 522, 524, 408]
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "WARNING"

ITEM_PIPELINES = {"crawlers.pipelines.writer.StorePipeline": 300}
EXTENSIONS = {"crawlers.metrics.CrawlMetrics": 500}  # Prometheus counters (crawlers/metrics.py)
# before robots.txt (100): a console-added source's host is checked before anything
# is sent to it (crawlers/guard.py); the config file's own sources pass unchecked
DOWNLOADER_MIDDLEWARES = {"crawlers.guard.PrivateAddressGuard": 50}
CRISISWATCH_ALLOW_PRIVATE: list[str] = []  # console.allow_private
CRISISWATCH_GUARD_ALL = False  # check every request (the console's test fetch)
CRISISWATCH_DATABASE = None  # set by the daemon; the pipeline stays off without it
CRISISWATCH_TICK = 0.5  # seconds between checks for due sources

# Scrapy parses each callback's source (ast.parse) to warn about generators that
# return a value. CPython 3.11's AST recursion check is not thread-safe: with the
# store writer and the stage worker compiling code in other threads, that parse
# failed a demo crawl with "AST constructor recursion depth mismatch". Our
# callbacks return nothing from generators, so the check buys nothing here.
WARN_ON_GENERATOR_RETURN_VALUE = False
