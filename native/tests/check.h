// The smallest test harness the kernel tests need: named test functions,
// CHECK with a printf-style message, and a summary line that CTest logs and
// CI reads ("N passed, N failed"). No framework dependency, so the tests
// build with nothing but a C++17 compiler, natively, cross (qemu) and under
// sanitizers alike.
#pragma once

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

namespace normkit_test {

struct TestCase {
  const char* name;
  void (*fn)();
};

inline std::vector<TestCase>& Registry() {
  static std::vector<TestCase> tests;
  return tests;
}

struct Registrar {
  Registrar(const char* name, void (*fn)()) { Registry().push_back({name, fn}); }
};

// Failures of the running test; a test stops printing after kMaxReports so a
// systematic error does not flood the CTest log, but keeps counting.
inline int& CurrentFailures() {
  static int failures = 0;
  return failures;
}
constexpr int kMaxReports = 8;

inline void ReportFailure(const char* file, int line, const char* fmt, ...) {
  if (++CurrentFailures() > kMaxReports) return;
  std::fprintf(stderr, "  FAIL %s:%d: ", file, line);
  va_list args;
  va_start(args, fmt);
  std::vfprintf(stderr, fmt, args);
  va_end(args);
  std::fputc('\n', stderr);
}

// Command-line options "--name=value" (see Option); the first other argument
// filters tests by a substring of their name.
inline std::vector<const char*>& Args() {
  static std::vector<const char*> args;
  return args;
}

// Value of "--name=value" on the command line ("" for a bare "--name"), or
// fallback when absent.
inline const char* Option(const char* name, const char* fallback) {
  const size_t len = std::strlen(name);
  for (const char* a : Args()) {
    if (std::strncmp(a, "--", 2) != 0 || std::strncmp(a + 2, name, len) != 0) continue;
    if (a[2 + len] == '=') return a + 3 + len;
    if (a[2 + len] == '\0') return "";
  }
  return fallback;
}

// Exit code CTest treats as "skipped" (SKIP_RETURN_CODE in CMakeLists.txt).
constexpr int kSkipped = 77;

inline void ParseArgs(int argc, char** argv) {
  Args().assign(argv + 1, argv + argc);
}

// Runs every registered test whose name contains the filter (the first
// argument that is not an option; all tests when absent) and returns the
// process exit code. ParseArgs must have run.
inline int RunAll() {
  const char* filter = "";
  for (const char* a : Args()) {
    if (std::strncmp(a, "--", 2) != 0) filter = a;
  }
  int passed = 0, failed = 0;
  for (const TestCase& t : Registry()) {
    if (std::strstr(t.name, filter) == nullptr) continue;
    CurrentFailures() = 0;
    std::printf("[ RUN  ] %s\n", t.name);
    std::fflush(stdout);
    t.fn();
    if (CurrentFailures() == 0) {
      ++passed;
      std::printf("[  OK  ] %s\n", t.name);
    } else {
      ++failed;
      std::printf("[ FAIL ] %s (%d failed checks)\n", t.name, CurrentFailures());
    }
    std::fflush(stdout);
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}

}  // namespace normkit_test

#define NK_CONCAT_(a, b) a##b
#define NK_CONCAT(a, b) NK_CONCAT_(a, b)

#define TEST(name)                                                              \
  static void NK_CONCAT(Test_, name)();                                         \
  static ::normkit_test::Registrar NK_CONCAT(registrar_, name)(#name,           \
                                                              &NK_CONCAT(Test_, name)); \
  static void NK_CONCAT(Test_, name)()

// CHECK(cond, "format", args...): records a failure (with the message) and
// goes on, so one run shows every ISA/shape that disagrees.
#define CHECK(cond, ...)                                                        \
  do {                                                                          \
    if (!(cond)) ::normkit_test::ReportFailure(__FILE__, __LINE__, __VA_ARGS__); \
  } while (0)

#define TEST_MAIN()                     \
  int main(int argc, char** argv) {     \
    ::normkit_test::ParseArgs(argc, argv); \
    return ::normkit_test::RunAll();    \
  }
