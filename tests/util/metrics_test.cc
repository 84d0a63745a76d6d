#include "util/metrics.h"

#include <gtest/gtest.h>

namespace discoblocks::metrics {
namespace {

TEST(MetricsTest, RendersThePrometheusTextFormat) {
  Registry registry;
  auto& requests = registry.Counter("requests_total", "Requests.");
  auto& drivers = registry.Gauge("drivers", "Drivers by state.");
  auto& latency = registry.Histogram("latency_seconds", "Latency.", {0.1, 1});
  requests.Increment({{"result", "allowed"}});
  requests.Increment({{"result", "allowed"}});
  requests.Increment({{"result", "say \"no\"\n"}});
  drivers.Set({{"state", "loaded"}}, 3);
  latency.Observe({}, 0.05);
  latency.Observe({}, 0.5);
  latency.Observe({}, 5);
  EXPECT_EQ(registry.Render(),
            "# HELP requests_total Requests.\n"
            "# TYPE requests_total counter\n"
            "requests_total{result=\"allowed\"} 2\n"
            "requests_total{result=\"say \\\"no\\\"\\n\"} 1\n"
            "# HELP drivers Drivers by state.\n"
            "# TYPE drivers gauge\n"
            "drivers{state=\"loaded\"} 3\n"
            "# HELP latency_seconds Latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{le=\"0.1\"} 1\n"
            "latency_seconds_bucket{le=\"1\"} 2\n"
            "latency_seconds_bucket{le=\"+Inf\"} 3\n"
            "latency_seconds_sum 5.55\n"
            "latency_seconds_count 3\n");
  EXPECT_EQ(requests.Value({{"result", "allowed"}}), 2);
  EXPECT_EQ(latency.Count({}), 3U);
  drivers.Clear();
  EXPECT_EQ(drivers.Value({{"state", "loaded"}}), 0);
}

}  // namespace
}  // namespace discoblocks::metrics
