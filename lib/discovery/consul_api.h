#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/labels.h"
#include "util/result.h"

namespace sdscope::discovery::consul {

// The body of GET /v1/catalog/services: service name -> its tags, decoded
// as Go's encoding/json fills map[string][]string.
Result<std::map<std::string, std::vector<std::string>>> parse_catalog(std::string_view body);

// The group of one service from the body of GET /v1/health/service/<name>:
// Source = service, group labels service and dc, one target per entry.
Result<model::TargetGroup> service_group(std::string_view body, const std::string& service,
                                         const std::string& datacenter, const std::string& tag_separator);

// consul's aggregate of an entry's checks (api.HealthChecks.AggregatedStatus);
// each check is (CheckID, Status).
std::string aggregated_status(const std::vector<std::pair<std::string, std::string>>& checks);

// Config.Datacenter from the body of GET /v1/agent/self; fails as
// Prometheus does when it is missing or not a string.
Result<std::string> datacenter_of(std::string_view body);

} // namespace sdscope::discovery::consul
