#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model/labels.h"
#include "util/result.h"
#include "yaml/diagnostics.h"

namespace sdscope::discovery {

// The serialized target group list shared by file_sd (JSON or YAML files)
// and http_sd (JSON): [{"targets": [...], "labels": {...}}, ...]. Each
// target string becomes a target with only __address__. Sources are left
// empty for the caller to set.

// Parses JSON the way Go's encoding/json fills []*targetgroup.Group, with
// its error texts (`json: unknown field "x"`, `nil target group item found`).
Result<std::vector<model::TargetGroup>> parse_groups_json(std::string_view text);

// Parses a YAML list of groups strictly; problems go to diagnostics with
// their positions in file. An empty document is an empty list.
std::vector<model::TargetGroup> parse_groups_yaml(std::string_view text, const std::string& file,
                                                  yaml::Diagnostics& diagnostics);

} // namespace sdscope::discovery
