// Helpers for tests that need a real MQTT broker: a mosquitto child process
// listening on a free port of 127.0.0.1, and a libmosquitto subscriber that
// records every message it receives.
//
// The broker is Debian's /usr/sbin/mosquitto, started with its own config
// file in a fresh temporary directory (listener on 127.0.0.1 only, anonymous
// clients allowed, no persistence, log to that directory's mosquitto.log).
// Every wait here is bounded; failures throw std::runtime_error (doctest
// reports it) with the broker's log when there is one.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace eryxon::test {

inline constexpr const char* kMosquittoBinary = "/usr/sbin/mosquitto";
inline constexpr const char* kMosquittoPasswd = "/usr/bin/mosquitto_passwd";
/// How long start() waits for the broker to accept connections, ms.
inline constexpr std::int64_t kBrokerStartMs = 5000;

/// A TCP port of 127.0.0.1 that was free a moment ago (bind to port 0, read
/// the port back, close).
inline int free_tcp_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error("could not find a free TCP port");
  return ntohs(addr.sin_port);
}

/// True when something accepts TCP connections on 127.0.0.1:`port`.
inline bool tcp_accepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

/// Polls `done` every 10 ms until it is true or `timeout_ms` have passed;
/// returns its last value.
inline bool eventually(const std::function<bool()>& done, std::int64_t timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

/// Runs `argv` (argv[0] a path) with output discarded; true when it exits 0.
inline bool run_quietly(std::vector<std::string> argv) {
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return false;
  int status = 0;
  return ::waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/// A broker account: user name and password.
struct MqttUser {
  std::string username;
  std::string password;
};

/// A mosquitto broker child process. The constructor starts it (on `port`,
/// or on a free port when 0) and returns once it accepts connections; the
/// destructor stops it and removes its directory. With `users`, anonymous
/// clients are refused and only those accounts may connect (a
/// mosquitto_passwd file). Not thread-safe.
class MosquittoBroker {
 public:
  explicit MosquittoBroker(int port = 0, const std::vector<MqttUser>& users = {})
      : port_(port != 0 ? port : free_tcp_port()) {
    static std::atomic<int> counter{0};
    dir_ = std::filesystem::temp_directory_path() /
           ("eryxon-mosquitto-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    const std::string passwd = (dir_ / "passwd").string();
    for (const MqttUser& u : users) {
      std::vector<std::string> argv{kMosquittoPasswd, "-b", passwd, u.username, u.password};
      if (!std::filesystem::exists(passwd)) argv.insert(argv.begin() + 1, "-c");
      if (!run_quietly(argv)) throw std::runtime_error("mosquitto_passwd failed");
    }
    std::ofstream conf(dir_ / "mosquitto.conf");
    conf << "listener " << port_ << " 127.0.0.1\n"
         << "persistence false\n"
         << "log_dest stderr\n"
         << "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n";
    if (users.empty()) {
      conf << "allow_anonymous true\n";
    } else {
      conf << "allow_anonymous false\npassword_file " << passwd << "\n";
    }
    conf.close();
    start();
  }

  ~MosquittoBroker() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  MosquittoBroker(const MosquittoBroker&) = delete;
  MosquittoBroker& operator=(const MosquittoBroker&) = delete;

  int port() const { return port_; }
  bool running() const { return pid_ > 0; }

  /// Starts the broker (again) on the same port; waits up to 5 s until it
  /// accepts connections.
  void start() {
    if (running()) return;
    const std::string conf = (dir_ / "mosquitto.conf").string();
    const std::string log = (dir_ / "mosquitto.log").string();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    std::vector<char*> argv{const_cast<char*>(kMosquittoBinary), const_cast<char*>("-c"),
                            const_cast<char*>(conf.c_str()), nullptr};
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, kMosquittoBinary, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("could not start " + std::string(kMosquittoBinary));
    pid_ = pid;
    const bool up = eventually(
        [&] {
          int status = 0;
          if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return true;  // exited: reported below
          }
          return tcp_accepts(port_);
        },
        kBrokerStartMs);
    if (!up || !running()) {
      kill();
      throw std::runtime_error("mosquitto did not start on port " + std::to_string(port_) +
                               "; its log:\n" + log_text());
    }
  }

  /// Ends the broker abruptly (SIGKILL): clients see their connection drop
  /// without a DISCONNECT. Waits for the process to be reaped.
  void kill() {
    if (!running()) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  /// Freezes the broker (SIGSTOP): connections stay open but nothing is
  /// answered, as with a hung broker or a stalled network. resume() (or
  /// stop()) thaws it.
  void pause() {
    if (running()) ::kill(pid_, SIGSTOP);
  }
  void resume() {
    if (running()) ::kill(pid_, SIGCONT);
  }

  /// Ends the broker politely (SIGTERM), SIGKILL after 5 s.
  void stop() {
    if (!running()) return;
    ::kill(pid_, SIGTERM);
    ::kill(pid_, SIGCONT);  // a paused broker acts on SIGTERM only once thawed
    const bool gone = eventually([&] { return ::waitpid(pid_, nullptr, WNOHANG) == pid_; },
                                 kBrokerStartMs);
    if (gone) {
      pid_ = -1;
    } else {
      kill();
    }
  }

  /// The broker's log so far (for failure messages).
  std::string log_text() const {
    std::ifstream in(dir_ / "mosquitto.log");
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }

 private:
  int port_;
  std::filesystem::path dir_;
  pid_t pid_ = -1;
};

/// One message as a subscriber received it.
struct MqttMessage {
  std::string topic;
  std::string payload;
  int qos = 0;
  bool retain = false;
};

/// A libmosquitto client on 127.0.0.1:`port` subscribed to `filter` at QoS
/// 1 (MQTT 3.1.1, clean session). The constructor returns once the broker
/// has acknowledged the subscription (SUBACK), waiting at most 5 s. Every
/// received message is kept, in order. Safe to query from the test thread
/// while libmosquitto's thread records messages.
class MqttSubscriber {
 public:
  explicit MqttSubscriber(int port, std::string filter = "#") : filter_(std::move(filter)) {
    static std::once_flag init;
    std::call_once(init, [] { mosquitto_lib_init(); });
    static std::atomic<int> counter{0};
    const std::string id =
        "eryxon-test-sub-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    mosq_ = mosquitto_new(id.c_str(), true, this);
    if (mosq_ == nullptr) throw std::runtime_error("mosquitto_new failed");
    mosquitto_connect_callback_set(mosq_, &on_connect);
    mosquitto_subscribe_callback_set(mosq_, &on_subscribe);
    mosquitto_message_callback_set(mosq_, &on_message);
    if (mosquitto_connect_async(mosq_, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS ||
        mosquitto_loop_start(mosq_) != MOSQ_ERR_SUCCESS) {
      mosquitto_destroy(mosq_);
      throw std::runtime_error("subscriber could not connect to port " + std::to_string(port));
    }
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(5), [&] { return subscribed_; })) {
      lock.unlock();
      shut_down();
      throw std::runtime_error("subscriber got no SUBACK for " + filter_);
    }
  }

  ~MqttSubscriber() { shut_down(); }

  MqttSubscriber(const MqttSubscriber&) = delete;
  MqttSubscriber& operator=(const MqttSubscriber&) = delete;

  /// The first received message (in arrival order) for which `match` is
  /// true, waiting up to `timeout_ms` for it to arrive.
  std::optional<MqttMessage> wait_for(const std::function<bool(const MqttMessage&)>& match,
                                      std::int64_t timeout_ms) {
    std::unique_lock lock(mu_);
    std::optional<MqttMessage> found;
    cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
      for (const MqttMessage& m : messages_) {
        if (match(m)) {
          found = m;
          return true;
        }
      }
      return false;
    });
    return found;
  }

  /// The first message on `topic` (with `payload`, when given).
  std::optional<MqttMessage> wait_for(const std::string& topic, std::int64_t timeout_ms,
                                      std::optional<std::string> payload = std::nullopt) {
    return wait_for(
        [&](const MqttMessage& m) {
          return m.topic == topic && (!payload || m.payload == *payload);
        },
        timeout_ms);
  }

  /// Every message received so far.
  std::vector<MqttMessage> messages() const {
    std::lock_guard lock(mu_);
    return messages_;
  }

 private:
  void shut_down() {
    if (mosq_ == nullptr) return;
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, false);
    mosquitto_destroy(mosq_);
    mosq_ = nullptr;
  }

  static void on_connect(mosquitto* m, void* self, int rc) {
    if (rc == 0)
      mosquitto_subscribe(m, nullptr, static_cast<MqttSubscriber*>(self)->filter_.c_str(), 1);
  }
  static void on_subscribe(mosquitto*, void* self, int, int, const int*) {
    auto* s = static_cast<MqttSubscriber*>(self);
    {
      std::lock_guard lock(s->mu_);
      s->subscribed_ = true;
    }
    s->cv_.notify_all();
  }
  static void on_message(mosquitto*, void* self, const mosquitto_message* msg) {
    auto* s = static_cast<MqttSubscriber*>(self);
    MqttMessage m;
    m.topic = msg->topic;
    if (msg->payloadlen > 0)
      m.payload.assign(static_cast<const char*>(msg->payload),
                       static_cast<std::size_t>(msg->payloadlen));
    m.qos = msg->qos;
    m.retain = msg->retain;
    {
      std::lock_guard lock(s->mu_);
      s->messages_.push_back(std::move(m));
    }
    s->cv_.notify_all();
  }

  std::string filter_;
  mosquitto* mosq_ = nullptr;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool subscribed_ = false;
  std::vector<MqttMessage> messages_;
};

}  // namespace eryxon::test
