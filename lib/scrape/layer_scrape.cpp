namespace sdscope::scrape {}
