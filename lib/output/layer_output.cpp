namespace sdscope::output {}
