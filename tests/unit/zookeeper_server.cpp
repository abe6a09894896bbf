#include "zookeeper_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "test_util.h"

extern char** environ;

namespace sdscope::test {

namespace {

constexpr const char* k_java = "/usr/bin/java";
constexpr const char* k_zookeeper_jar = "/usr/share/java/zookeeper.jar";

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t size = sizeof address;
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0);
  close(fd);
  return ntohs(address.sin_port);
}

// ZooKeeper's "ruok" four-letter command answers "imok" once it serves.
bool answers_ruok(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return false;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 && write(fd, "ruok", 4) == 4) {
    char answer[8] = {};
    ok = read(fd, answer, 4) == 4 && std::string(answer, 4) == "imok";
  }
  close(fd);
  return ok;
}

void discard_log(const char*) {}

} // namespace

ZookeeperServer& ZookeeperServer::get() {
  static ZookeeperServer server;
  if (!server.running()) {
    server.start();
  }
  return server;
}

void ZookeeperServer::start() {
  REQUIRE_MESSAGE(access(k_java, X_OK) == 0, k_java << " not found: install zookeeperd (.ci/deps test)");
  REQUIRE_MESSAGE(access(k_zookeeper_jar, R_OK) == 0,
                  k_zookeeper_jar << " not found: install zookeeperd (.ci/deps test)");
  if (m_dir.empty()) {
    m_dir = scratch_dir().string();
    m_port = free_port();
    // A short tick lets tests use sessions of a second or two.
    write_file(m_dir + "/zoo.cfg", "tickTime=500\n"
                                   "dataDir=" + m_dir + "/data\n"
                                   "clientPortAddress=127.0.0.1\n"
                                   "clientPort=" + std::to_string(m_port) + "\n"
                                   "admin.enableServer=false\n"
                                   "4lw.commands.whitelist=ruok\n"
                                   "maxSessionTimeout=60000\n");
  }
  std::vector<std::string> args = {k_java, "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                                   "-cp", k_zookeeper_jar, "org.apache.zookeeper.server.ZooKeeperServerMain",
                                   m_dir + "/zoo.cfg"};
  std::vector<char*> argv;
  for (std::string& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  std::string log = m_dir + "/server.log";
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, k_java, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE_MESSAGE(rc == 0, "cannot start java: " << std::strerror(rc));
  m_pid = pid;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!answers_ruok(m_port)) {
    int status = 0;
    if (waitpid(m_pid, &status, WNOHANG) == m_pid) {
      m_pid = 0;
      FAIL("ZooKeeper exited at once; its log: " << read_text(log));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      stop();
      FAIL("ZooKeeper does not answer on port " << m_port << "; its log: " << read_text(log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void ZookeeperServer::stop() {
  if (m_pid > 0) {
    kill(m_pid, SIGKILL);
    waitpid(m_pid, nullptr, 0);
    m_pid = 0;
  }
}

ZookeeperServer::~ZookeeperServer() {
  stop();
  if (!m_dir.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(m_dir, ignored);
  }
}

namespace {

std::atomic<bool> g_admin_connected{false};

void admin_watcher(zhandle_t*, int type, int state, const char*, void* connected) {
  if (type == ZOO_SESSION_EVENT) {
    static_cast<std::atomic<bool>*>(connected)->store(state == ZOO_CONNECTED_STATE);
  }
}

} // namespace

ZookeeperAdmin::ZookeeperAdmin(const std::string& servers) {
  g_admin_connected = false;
  m_handle = zookeeper_init2(servers.c_str(), admin_watcher, 10000, nullptr, &g_admin_connected, 0, discard_log);
  REQUIRE(m_handle != nullptr);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!g_admin_connected && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE_MESSAGE(g_admin_connected, "cannot connect to ZooKeeper at " << servers);
}

ZookeeperAdmin::~ZookeeperAdmin() {
  if (m_handle != nullptr) {
    zookeeper_close(m_handle);
  }
}

void ZookeeperAdmin::create(const std::string& path, const std::string& data) {
  size_t slash = path.rfind('/');
  if (slash > 0 && zoo_exists(m_handle, path.substr(0, slash).c_str(), 0, nullptr) == ZNONODE) {
    create(path.substr(0, slash));
  }
  int rc = zoo_create(m_handle, path.c_str(), data.data(), static_cast<int>(data.size()), &ZOO_OPEN_ACL_UNSAFE, 0,
                      nullptr, 0);
  REQUIRE_MESSAGE(rc == ZOK, "create " << path << ": " << zerror(rc));
}

void ZookeeperAdmin::set(const std::string& path, const std::string& data) {
  int rc = zoo_set(m_handle, path.c_str(), data.data(), static_cast<int>(data.size()), -1);
  REQUIRE_MESSAGE(rc == ZOK, "set " << path << ": " << zerror(rc));
}

void ZookeeperAdmin::remove(const std::string& path) {
  String_vector children{};
  int rc = zoo_get_children(m_handle, path.c_str(), 0, &children);
  if (rc == ZNONODE) {
    return;
  }
  REQUIRE_MESSAGE(rc == ZOK, "children of " << path << ": " << zerror(rc));
  std::vector<std::string> names(children.data, children.data + children.count);
  deallocate_String_vector(&children);
  for (const std::string& name : names) {
    remove(path + "/" + name);
  }
  rc = zoo_delete(m_handle, path.c_str(), -1);
  REQUIRE_MESSAGE((rc == ZOK || rc == ZNONODE), "delete " << path << ": " << zerror(rc));
}

} // namespace sdscope::test
