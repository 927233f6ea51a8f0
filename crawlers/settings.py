"""Scrapy settings: polite by default. Per-source options in sources.toml override some of them."""

from core import __version__

BOT_NAME = "yuqing"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

# honest about who we are and why
USER_AGENT = f"yuqing/{__version__} (+public-opinion monitoring)"
ROBOTSTXT_OBEY = True

CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

DOWNLOAD_TIMEOUT = 30
# a listing or post is never this big; bigger answers are cut off and reported
DOWNLOAD_MAXSIZE = 8 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
REDIRECT_MAX_TIMES = 5
RETRY_ENABLED = True
RETRY_TIMES = 1
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False

# conditional requests: keep responses that carry ETag/Last-Modified, revalidate them every time
HTTPCACHE_ENABLED = True
HTTPCACHE_POLICY = "crawlers.middlewares.RevalidatePolicy"
HTTPCACHE_STORAGE = "scrapy.extensions.httpcache.FilesystemCacheStorage"
HTTPCACHE_DIR = "httpcache"  # replaced by DATA_DIR/httpcache in the crawl process
HTTPCACHE_GZIP = True

DOWNLOADER_MIDDLEWARES = {
    # after decompression (590) on the way back, so it sees the real body
    "crawlers.middlewares.EncodingMiddleware": 580,
}
ITEM_PIPELINES = {
    "crawlers.pipelines.CleanPipeline": 100,
    "crawlers.pipelines.StorePipeline": 500,
}
EXTENSIONS = {
    "crawlers.extensions.RunRecorder": 100,
}

YUQING_BATCH_SIZE = 100
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
# Scrapy's remote-control HTTP endpoint is not needed and would listen on a port
REMOTE_CONTROL_ENABLED = False
