"""Spiders of the crisiswatch Scrapy project."""
