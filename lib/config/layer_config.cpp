namespace sdscope::config {}
