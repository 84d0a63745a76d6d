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
            "latency_seconds_count 3\n"
            "latency_seconds_sum 5.55\n"
            "latency_seconds_bucket{le=\"0.1\"} 1\n"
            "latency_seconds_bucket{le=\"1\"} 2\n"
            "latency_seconds_bucket{le=\"+Inf\"} 3\n");
  EXPECT_EQ(requests.Value({{"result", "allowed"}}), 2);
  EXPECT_EQ(latency.Count({}), 3U);
  drivers.Clear();
  EXPECT_EQ(drivers.Value({{"state", "loaded"}}), 0);
}

// Labels are rendered sorted by name, and series sorted by their labels,
// whatever order they were given or created in.
TEST(MetricsTest, RendersLabelsAndSeriesInOrder) {
  Registry registry;
  auto& calls = registry.Counter("calls_total", "Calls.");
  calls.Increment({{"provisioner", "b"}, {"function", "F"}});
  calls.Increment({{"provisioner", "a"}, {"function", "F"}});
  calls.Increment({{"function", "F"}, {"provisioner", "a"}});
  EXPECT_EQ(registry.Render(),
            "# HELP calls_total Calls.\n"
            "# TYPE calls_total counter\n"
            "calls_total{function=\"F\",provisioner=\"a\"} 2\n"
            "calls_total{function=\"F\",provisioner=\"b\"} 1\n");
}

TEST(MetricsTest, TotalsCopiedInMayStartAgain) {
  Registry registry;
  auto& loads = registry.Counter("loads_total", "Loads.");
  loads.SetTotal({{"driver", "a"}}, 5);
  loads.SetTotal({{"driver", "a"}}, 7);
  EXPECT_EQ(loads.Value({{"driver", "a"}}), 7);
  loads.SetTotal({{"driver", "a"}}, 2);  // counted elsewhere from zero again
  EXPECT_EQ(loads.Value({{"driver", "a"}}), 2);
  EXPECT_NE(registry.Render().find("loads_total{driver=\"a\"} 2\n"), std::string::npos);
}

// Registering a name again gives the same family, rendered once.
TEST(MetricsTest, ANameRegisteredTwiceIsOneFamily) {
  Registry registry;
  registry.Counter("requests_total", "Requests.").Increment({{"result", "allowed"}});
  registry.Counter("requests_total", "Requests.").Increment({{"result", "allowed"}});
  const std::string text = registry.Render();
  EXPECT_EQ(text.find("# TYPE requests_total"), text.rfind("# TYPE requests_total")) << text;
  EXPECT_NE(text.find("requests_total{result=\"allowed\"} 2\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace discoblocks::metrics
