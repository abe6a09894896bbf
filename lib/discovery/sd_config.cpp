#include "discovery/sd_config.h"

namespace sdscope::discovery {

void check_refresh_interval(yaml::Checker& c, int64_t refresh_ms) {
  if (refresh_ms == 0 && c.field("refresh_interval")) {
    c.warning_at("refresh_interval", "refresh_interval 0 is accepted by Prometheus but makes its discovery "
                                     "panic at run time (non-positive interval for NewTicker)");
  }
}

} // namespace sdscope::discovery
