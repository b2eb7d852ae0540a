"""``crisiswatch sources test``: run the probe spider and print what it extracted.

Formatting is a pure function of the report so it can be tested without a crawl."""

from __future__ import annotations

from scrapy.crawler import CrawlerProcess

from crawlers.spiders.probe import ProbeReport, ProbeSpider

EXCERPT = 100


def _short(text: str | None, n: int = EXCERPT) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _when(value) -> str:  # noqa: ANN001
    return value.isoformat(timespec="minutes") if value else "-"


def format_report(report: ProbeReport) -> str:
    lines = [f"fetched {report.url}: HTTP {report.status if report.status else '-'}"]
    if report.error:
        lines.append(f"ERROR: {report.error}")
    if report.posts:
        lines.append(f"{len(report.posts)} entries:")
        lines += [f"  - {_when(p.published_at)}  {_short(p.title)}  {p.url or ''}"
                  for p in report.posts]
    if report.listing is not None:
        listing = report.listing
        lines.append(f"{len(listing.threads)} threads (next page: {listing.next_page or '-'}):")
        lines += [f"  - [{t.key}] {_short(t.title, 60)}  replies={t.replies} views={t.views} "
                  f"last={_when(t.last_post_at)}  {t.url}" for t in listing.threads]
        if not listing.threads:
            lines.append("  extraction returned nothing: check the listing rules")
    for url, page, error in report.pages:
        if error:
            lines.append(f"thread {url}: ERROR: {error}")
            continue
        lines.append(f"thread {url}: {len(page.posts)} posts (next page: "
                     f"{page.next_page or '-'}) title={_short(page.title, 60)!r}")
        lines += [f"  - {p.author or '(no author)'} at {_when(p.published_at)} "
                  f"likes={p.likes}: {_short(p.text)}" for p in page.posts]
        if not page.posts:
            lines.append("  extraction returned nothing: check the thread rules")
    return "\n".join(lines)


def run_probe(settings, **spider_args: object) -> ProbeReport:  # noqa: ANN001
    """Fetch once with real Scrapy (same limits and manners), store nothing."""
    report = ProbeReport(str(spider_args.get("url", "")))
    settings.set("ITEM_PIPELINES", {}, priority="cmdline")
    process = CrawlerProcess(settings)
    process.crawl(ProbeSpider, report=report, **spider_args)
    process.start()
    return report
