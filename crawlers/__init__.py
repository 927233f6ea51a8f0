"""Crawlers: sources, crawl runs, posts and the Scrapy project that fills them."""
