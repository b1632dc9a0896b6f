#include <cstdio>
int main() { std::fprintf(stderr, "modelwatchd: not built yet\n"); return 2; }
