#include <cstdio>
int main() { std::puts("sdscope " SDSCOPE_VERSION); }
