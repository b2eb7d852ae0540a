"""The Scrapy project: settings, items, the watch spider, extractors and the store pipeline."""
