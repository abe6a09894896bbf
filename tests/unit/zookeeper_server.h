#pragma once

// A real ZooKeeper server (Debian's zookeeper package, run with java) on a
// free port of 127.0.0.1, for the serverset and nerve SD tests; plus an
// admin session through the C client to create, change and delete znodes.
// One server is shared by every test of the process (a JVM start takes
// seconds); a test that stops it leaves the next one to start it again on
// the same port and data.

#include <chrono>
#include <string>

#include <zookeeper/zookeeper.h>

namespace sdscope::test {

class ZookeeperServer {
public:
  // The shared server, started (again) if it is not running. Fails the
  // test when java or the zookeeper jar is missing or the server does not
  // come up: the test dependencies (.ci/deps test) install them.
  static ZookeeperServer& get();
  // Kills the server (as a crash would); get() starts it again.
  void stop();
  bool running() const { return m_pid > 0; }
  int port() const { return m_port; }
  std::string address() const { return "127.0.0.1:" + std::to_string(m_port); }

  ~ZookeeperServer();

private:
  ZookeeperServer() = default;
  void start();

  std::string m_dir;
  int m_port = 0;
  int m_pid = 0;
};

// A session of its own on the shared server, with synchronous helpers that
// fail the test when ZooKeeper says no.
class ZookeeperAdmin {
public:
  explicit ZookeeperAdmin(const std::string& servers);
  ~ZookeeperAdmin();
  ZookeeperAdmin(const ZookeeperAdmin&) = delete;
  ZookeeperAdmin& operator=(const ZookeeperAdmin&) = delete;

  // Creates path with data, and its missing parents with empty data.
  void create(const std::string& path, const std::string& data = "");
  void set(const std::string& path, const std::string& data);
  // Deletes path and everything below it, if it exists.
  void remove(const std::string& path);

private:
  zhandle_t* m_handle = nullptr;
};

} // namespace sdscope::test
