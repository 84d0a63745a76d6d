// Helpers of `discoblocks serve` (serve_command.cc) that are not its
// composition: signals, the drain delay, the memory estimate, and the leader
// election identity and namespace.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "server/http_server.h"

namespace discoblocks::cli {

// SIGTERM and SIGINT.
sigset_t TerminationSignals();
// Waits for SIGTERM or SIGINT, which every thread has blocked; returns it.
int WaitForSignal();
// Sleeps for `delay` unless a second signal asks to stop at once.
void DrainDelay(std::chrono::nanoseconds delay);

// The most memory requests can hold at once, for the log and the docs: each
// worker runs one driver call (up to its memory limit) on one parsed review;
// each connection may be receiving a body up to the limit.
std::uint64_t WorstCaseMemory(unsigned workers, std::size_t connections,
                              std::uint64_t driver_memory, std::uint64_t body_bytes);

// The path of a request target, without its query.
std::string_view PathOf(std::string_view target);
server::HttpResponse Text(int status, std::string body);

// The namespace of the pod we run in (the service account's namespace file),
// else "discoblocks".
std::string DefaultLeaderElectionNamespace(
    const std::string& namespace_file = "/var/run/secrets/kubernetes.io/serviceaccount/namespace");
// This replica among candidates: the host name (the pod's name) and a random
// suffix, so that a restarted container is a new candidate.
std::string LeaderIdentity();

}  // namespace discoblocks::cli
