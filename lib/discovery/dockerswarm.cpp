// dockerswarm_sd: services, tasks or nodes of a Docker Swarm
// (discovery/moby/dockerswarm.go, services.go, tasks.go and nodes.go in
// Prometheus v2.45; spec/sd-platforms.md §7).
//
// Each refresh asks a swarm manager's Docker Engine API (client in
// moby.cpp, version negotiated once) for the role's objects, the filters
// going to that list only (GET /v<version>/services, /tasks or /nodes,
// ?filters=<json> when some filter has values), plus what the role's labels
// need: services add GET /networks; tasks add the unfiltered service and
// node lists and the networks. One group, Source "DockerSwarm":
//   services: per virtual IP, a target per TCP endpoint port at the VIP and
//     published port, else one at the VIP and `port`;
//   tasks: a target per TCP port the task publishes in host mode, at its
//     node's address; per address of each network attachment, a target per
//     TCP port of its service's endpoint, else one at `port`;
//   nodes: one target per node at its address and `port`.
// v2.45 crashes on a service without a container spec (plugin and
// network-attachment services); here such a service just lacks the
// __meta_dockerswarm_service_task_container_* labels, as in later releases.
#include "discovery/dockerswarm.h"

#include <fmt/format.h>

#include "discovery/moby.h"
#include "model/url.h"
#include "util/strings.h"

namespace sdscope::discovery::dockerswarm {

namespace {

using LabelMap = std::map<std::string, std::string>;

constexpr std::string_view k_prefix = "__meta_dockerswarm_";
constexpr std::string_view k_node_address = "__meta_dockerswarm_node_address";
constexpr std::string_view k_node_availability = "__meta_dockerswarm_node_availability";
constexpr std::string_view k_node_engine_version = "__meta_dockerswarm_node_engine_version";
constexpr std::string_view k_node_hostname = "__meta_dockerswarm_node_hostname";
constexpr std::string_view k_node_id = "__meta_dockerswarm_node_id";
constexpr std::string_view k_node_label_prefix = "__meta_dockerswarm_node_label_";
constexpr std::string_view k_node_manager_address = "__meta_dockerswarm_node_manager_address";
constexpr std::string_view k_node_manager_leader = "__meta_dockerswarm_node_manager_leader";
constexpr std::string_view k_node_manager_reachability = "__meta_dockerswarm_node_manager_reachability";
constexpr std::string_view k_node_platform_architecture = "__meta_dockerswarm_node_platform_architecture";
constexpr std::string_view k_node_platform_os = "__meta_dockerswarm_node_platform_os";
constexpr std::string_view k_node_role = "__meta_dockerswarm_node_role";
constexpr std::string_view k_node_status = "__meta_dockerswarm_node_status";
constexpr std::string_view k_service_endpoint_port_name = "__meta_dockerswarm_service_endpoint_port_name";
constexpr std::string_view k_service_endpoint_port_publish_mode =
    "__meta_dockerswarm_service_endpoint_port_publish_mode";
constexpr std::string_view k_service_id = "__meta_dockerswarm_service_id";
constexpr std::string_view k_service_label_prefix = "__meta_dockerswarm_service_label_";
constexpr std::string_view k_service_mode = "__meta_dockerswarm_service_mode";
constexpr std::string_view k_service_name = "__meta_dockerswarm_service_name";
constexpr std::string_view k_service_task_container_hostname = "__meta_dockerswarm_service_task_container_hostname";
constexpr std::string_view k_service_task_container_image = "__meta_dockerswarm_service_task_container_image";
constexpr std::string_view k_service_updating_status = "__meta_dockerswarm_service_updating_status";
constexpr std::string_view k_task_container_id = "__meta_dockerswarm_task_container_id";
constexpr std::string_view k_task_desired_state = "__meta_dockerswarm_task_desired_state";
constexpr std::string_view k_task_id = "__meta_dockerswarm_task_id";
constexpr std::string_view k_task_port_publish_mode = "__meta_dockerswarm_task_port_publish_mode";
constexpr std::string_view k_task_slot = "__meta_dockerswarm_task_slot";
constexpr std::string_view k_task_state = "__meta_dockerswarm_task_state";
constexpr std::string_view k_container_label_prefix = "__meta_dockerswarm_container_label_";

// The fields of docker v24's swarm types that the mappings read.
struct PortConfig {
  std::string name, protocol, publish_mode;
  uint64_t published_port = 0;
};
struct VirtualIp {
  std::string network_id, addr;
};
struct Service {
  std::string id, name, mode;
  LabelMap labels;
  std::string hostname, image;
  bool updating = false; // UpdateStatus present
  std::string update_state;
  std::vector<PortConfig> ports;
  std::vector<VirtualIp> virtual_ips;
};
struct Attachment {
  std::string network_id;
  std::vector<std::string> addresses;
};
struct Task {
  std::string id, service_id, node_id, desired_state, state;
  int64_t slot = 0;
  bool has_container = false; // Status.ContainerStatus present
  std::string container_id;
  std::vector<PortConfig> ports; // Status.PortStatus.Ports
  bool has_container_spec = false;
  LabelMap container_labels;
  std::vector<Attachment> attachments;
};
struct Node {
  std::string id, role, availability, hostname, architecture, os, engine_version, state, addr;
  LabelMap labels;
  bool has_manager = false;
  bool leader = false;
  std::string reachability, manager_addr;
};

void decode_ports(moby::ApiDecoder& x, const Json& v, std::vector<PortConfig>& out, const std::string& where) {
  x.list(v, out, where, "swarm.PortConfig", [&](const std::string& k, const Json& value, PortConfig& p) {
    std::string w = "PortConfig." + where.substr(where.find('.') + 1) + ".";
    if (equal_fold(k, "Name")) {
      x.d.string(value, p.name, w + "Name");
    } else if (equal_fold(k, "Protocol")) {
      x.d.string(value, p.protocol, w + "Protocol");
    } else if (equal_fold(k, "PublishMode")) {
      x.d.string(value, p.publish_mode, w + "PublishMode");
    } else if (equal_fold(k, "PublishedPort")) {
      x.unsigned_int(value, p.published_port, UINT32_MAX, w + "PublishedPort", "uint32");
    } else if (equal_fold(k, "TargetPort")) {
      uint64_t ignored = 0;
      x.unsigned_int(value, ignored, UINT32_MAX, w + "TargetPort", "uint32");
    }
  });
}

// Spec.Mode: Global and Replicated are pointers, present when not null.
std::string decode_mode(moby::ApiDecoder& x, const Json& v) {
  bool global = false;
  bool replicated = false;
  x.object(v, "ServiceSpec.Spec.Mode", "swarm.ServiceMode", [&](const std::string& k, const Json& value) {
    if (equal_fold(k, "Global")) {
      global = x.object(value, "ServiceMode.Spec.Mode.Global", "swarm.GlobalService", [](auto&&...) {});
    } else if (equal_fold(k, "Replicated")) {
      replicated = x.object(value, "ServiceMode.Spec.Mode.Replicated", "swarm.ReplicatedService", [](auto&&...) {});
    }
  });
  return global ? "global" : replicated ? "replicated" : "";
}

Result<std::vector<Service>> parse_services(std::string_view body) {
  moby::ApiDecoder x;
  Result<Json> json = moby::parse_list_body(body, x, "[]swarm.Service");
  if (!json) {
    return fail(json.error());
  }
  std::vector<Service> services;
  x.list(*json, services, "", "swarm.Service", [&](const std::string& key, const Json& value, Service& s) {
    if (equal_fold(key, "ID")) {
      x.d.string(value, s.id, "Service.ID");
    } else if (equal_fold(key, "Spec")) {
      x.object(value, "Service.Spec", "swarm.ServiceSpec", [&](const std::string& k, const Json& v) {
        if (equal_fold(k, "Name")) {
          x.d.string(v, s.name, "Annotations.Spec.Name");
        } else if (equal_fold(k, "Labels")) {
          x.d.string_map(v, s.labels, "Annotations.Spec.Labels");
        } else if (equal_fold(k, "Mode")) {
          s.mode = decode_mode(x, v);
        } else if (equal_fold(k, "TaskTemplate")) {
          x.object(v, "ServiceSpec.Spec.TaskTemplate", "swarm.TaskSpec", [&](const std::string& tk, const Json& tv) {
            if (equal_fold(tk, "ContainerSpec")) {
              x.object(tv, "TaskSpec.Spec.TaskTemplate.ContainerSpec", "swarm.ContainerSpec",
                       [&](const std::string& ck, const Json& cv) {
                         if (equal_fold(ck, "Hostname")) {
                           x.d.string(cv, s.hostname, "ContainerSpec.Spec.TaskTemplate.ContainerSpec.Hostname");
                         } else if (equal_fold(ck, "Image")) {
                           x.d.string(cv, s.image, "ContainerSpec.Spec.TaskTemplate.ContainerSpec.Image");
                         }
                       });
            }
          });
        }
      });
    } else if (equal_fold(key, "UpdateStatus")) {
      s.updating = x.object(value, "Service.UpdateStatus", "swarm.UpdateStatus",
                            [&](const std::string& k, const Json& v) {
                              if (equal_fold(k, "State")) {
                                x.d.string(v, s.update_state, "UpdateStatus.UpdateStatus.State");
                              }
                            });
    } else if (equal_fold(key, "Endpoint")) {
      x.object(value, "Service.Endpoint", "swarm.Endpoint", [&](const std::string& k, const Json& v) {
        if (equal_fold(k, "Ports")) {
          decode_ports(x, v, s.ports, "Endpoint.Endpoint.Ports");
        } else if (equal_fold(k, "VirtualIPs")) {
          x.list(v, s.virtual_ips, "Endpoint.Endpoint.VirtualIPs", "swarm.EndpointVirtualIP",
                 [&](const std::string& vk, const Json& vv, VirtualIp& vip) {
                   if (equal_fold(vk, "NetworkID")) {
                     x.d.string(vv, vip.network_id, "EndpointVirtualIP.Endpoint.VirtualIPs.NetworkID");
                   } else if (equal_fold(vk, "Addr")) {
                     x.d.string(vv, vip.addr, "EndpointVirtualIP.Endpoint.VirtualIPs.Addr");
                   }
                 });
        }
      });
    }
  });
  if (!x.d.error.empty()) {
    return fail(x.d.error);
  }
  return services;
}

Result<std::vector<Task>> parse_tasks(std::string_view body) {
  moby::ApiDecoder x;
  Result<Json> json = moby::parse_list_body(body, x, "[]swarm.Task");
  if (!json) {
    return fail(json.error());
  }
  std::vector<Task> tasks;
  x.list(*json, tasks, "", "swarm.Task", [&](const std::string& key, const Json& value, Task& t) {
    if (equal_fold(key, "ID")) {
      x.d.string(value, t.id, "Task.ID");
    } else if (equal_fold(key, "ServiceID")) {
      x.d.string(value, t.service_id, "Task.ServiceID");
    } else if (equal_fold(key, "NodeID")) {
      x.d.string(value, t.node_id, "Task.NodeID");
    } else if (equal_fold(key, "Slot")) {
      x.d.integer(value, t.slot, "Task.Slot");
    } else if (equal_fold(key, "DesiredState")) {
      x.d.string(value, t.desired_state, "Task.DesiredState");
    } else if (equal_fold(key, "Status")) {
      x.object(value, "Task.Status", "swarm.TaskStatus", [&](const std::string& k, const Json& v) {
        if (equal_fold(k, "State")) {
          x.d.string(v, t.state, "TaskStatus.Status.State");
        } else if (equal_fold(k, "ContainerStatus")) {
          t.has_container = x.object(v, "TaskStatus.Status.ContainerStatus", "swarm.ContainerStatus",
                                     [&](const std::string& ck, const Json& cv) {
                                       if (equal_fold(ck, "ContainerID")) {
                                         x.d.string(cv, t.container_id,
                                                    "ContainerStatus.Status.ContainerStatus.ContainerID");
                                       }
                                     });
        } else if (equal_fold(k, "PortStatus")) {
          x.object(v, "TaskStatus.Status.PortStatus", "swarm.PortStatus", [&](const std::string& pk, const Json& pv) {
            if (equal_fold(pk, "Ports")) {
              decode_ports(x, pv, t.ports, "PortStatus.Status.PortStatus.Ports");
            }
          });
        }
      });
    } else if (equal_fold(key, "Spec")) {
      x.object(value, "Task.Spec", "swarm.TaskSpec", [&](const std::string& k, const Json& v) {
        if (equal_fold(k, "ContainerSpec")) {
          t.has_container_spec = x.object(v, "TaskSpec.Spec.ContainerSpec", "swarm.ContainerSpec",
                                          [&](const std::string& ck, const Json& cv) {
                                            if (equal_fold(ck, "Labels")) {
                                              x.d.string_map(cv, t.container_labels,
                                                             "ContainerSpec.Spec.ContainerSpec.Labels");
                                            }
                                          });
        }
      });
    } else if (equal_fold(key, "NetworksAttachments")) {
      x.list(value, t.attachments, "Task.NetworksAttachments", "swarm.NetworkAttachment",
             [&](const std::string& k, const Json& v, Attachment& a) {
               if (equal_fold(k, "Network")) {
                 x.object(v, "NetworkAttachment.NetworksAttachments.Network", "swarm.Network",
                          [&](const std::string& nk, const Json& nv) {
                            if (equal_fold(nk, "ID")) {
                              x.d.string(nv, a.network_id, "Network.NetworksAttachments.Network.ID");
                            }
                          });
               } else if (equal_fold(k, "Addresses")) {
                 a.addresses.clear();
                 x.d.string_list(v, a.addresses, "NetworkAttachment.NetworksAttachments.Addresses");
               }
             });
    }
  });
  if (!x.d.error.empty()) {
    return fail(x.d.error);
  }
  return tasks;
}

Result<std::vector<Node>> parse_nodes(std::string_view body) {
  moby::ApiDecoder x;
  Result<Json> json = moby::parse_list_body(body, x, "[]swarm.Node");
  if (!json) {
    return fail(json.error());
  }
  std::vector<Node> nodes;
  x.list(*json, nodes, "", "swarm.Node", [&](const std::string& key, const Json& value, Node& n) {
    if (equal_fold(key, "ID")) {
      x.d.string(value, n.id, "Node.ID");
    } else if (equal_fold(key, "Spec")) {
      x.object(value, "Node.Spec", "swarm.NodeSpec", [&](const std::string& k, const Json& v) {
        if (equal_fold(k, "Role")) {
          x.d.string(v, n.role, "NodeSpec.Spec.Role");
        } else if (equal_fold(k, "Availability")) {
          x.d.string(v, n.availability, "NodeSpec.Spec.Availability");
        } else if (equal_fold(k, "Labels")) {
          x.d.string_map(v, n.labels, "Annotations.Spec.Labels");
        }
      });
    } else if (equal_fold(key, "Description")) {
      x.object(value, "Node.Description", "swarm.NodeDescription", [&](const std::string& k, const Json& v) {
        if (equal_fold(k, "Hostname")) {
          x.d.string(v, n.hostname, "NodeDescription.Description.Hostname");
        } else if (equal_fold(k, "Platform")) {
          x.object(v, "NodeDescription.Description.Platform", "swarm.Platform",
                   [&](const std::string& pk, const Json& pv) {
                     if (equal_fold(pk, "Architecture")) {
                       x.d.string(pv, n.architecture, "Platform.Description.Platform.Architecture");
                     } else if (equal_fold(pk, "OS")) {
                       x.d.string(pv, n.os, "Platform.Description.Platform.OS");
                     }
                   });
        } else if (equal_fold(k, "Engine")) {
          x.object(v, "NodeDescription.Description.Engine", "swarm.EngineDescription",
                   [&](const std::string& ek, const Json& ev) {
                     if (equal_fold(ek, "EngineVersion")) {
                       x.d.string(ev, n.engine_version, "EngineDescription.Description.Engine.EngineVersion");
                     }
                   });
        }
      });
    } else if (equal_fold(key, "Status")) {
      x.object(value, "Node.Status", "swarm.NodeStatus", [&](const std::string& k, const Json& v) {
        if (equal_fold(k, "State")) {
          x.d.string(v, n.state, "NodeStatus.Status.State");
        } else if (equal_fold(k, "Addr")) {
          x.d.string(v, n.addr, "NodeStatus.Status.Addr");
        }
      });
    } else if (equal_fold(key, "ManagerStatus")) {
      n.has_manager = x.object(value, "Node.ManagerStatus", "swarm.ManagerStatus",
                               [&](const std::string& k, const Json& v) {
                                 if (equal_fold(k, "Leader")) {
                                   x.boolean(v, n.leader, "ManagerStatus.ManagerStatus.Leader");
                                 } else if (equal_fold(k, "Reachability")) {
                                   x.d.string(v, n.reachability, "ManagerStatus.ManagerStatus.Reachability");
                                 } else if (equal_fold(k, "Addr")) {
                                   x.d.string(v, n.manager_addr, "ManagerStatus.ManagerStatus.Addr");
                                 }
                               });
    }
  });
  if (!x.d.error.empty()) {
    return fail(x.d.error);
  }
  return nodes;
}

void add_all(model::Labels& target, const LabelMap& labels) {
  for (const auto& [name, value] : labels) {
    target.set(name, value);
  }
}

const LabelMap& labels_of(const std::map<std::string, LabelMap>& by_id, const std::string& id) {
  static const LabelMap none;
  auto found = by_id.find(id);
  return found != by_id.end() ? found->second : none;
}

void add_target(model::TargetGroup& group, model::Labels labels, const std::string& address) {
  labels.set("__address__", address);
  group.targets.push_back(std::move(labels));
}

std::string parse_error(const std::string& address, const std::string& error) {
  return fmt::format("error while parsing address {}: {}", address, error);
}

Result<model::TargetGroup> map_services(const std::vector<Service>& services, const docker::NetworkLabels& networks,
                                        int port) {
  model::TargetGroup group;
  group.source = "DockerSwarm";
  for (const Service& s : services) {
    LabelMap common = {{std::string(k_service_id), s.id},
                       {std::string(k_service_name), s.name},
                       {std::string(k_service_task_container_hostname), s.hostname},
                       {std::string(k_service_task_container_image), s.image},
                       {std::string(k_service_mode), s.mode}};
    if (s.updating) {
      common[std::string(k_service_updating_status)] = s.update_state;
    }
    for (const auto& [key, value] : s.labels) {
      common[std::string(k_service_label_prefix) + util::sanitize_label_name(key)] = value;
    }
    for (const VirtualIp& vip : s.virtual_ips) {
      Result<std::string> ip = moby::cidr_ip(vip.addr);
      if (!ip) {
        return fail(parse_error(vip.addr, ip.error()));
      }
      bool added = false;
      for (const PortConfig& p : s.ports) {
        if (p.protocol != "tcp") {
          continue;
        }
        model::Labels labels;
        labels.set(k_service_endpoint_port_name, p.name);
        labels.set(k_service_endpoint_port_publish_mode, p.publish_mode);
        add_all(labels, common);
        add_all(labels, labels_of(networks, vip.network_id));
        add_target(group, std::move(labels), util::join_host_port(*ip, std::to_string(p.published_port)));
        added = true;
      }
      if (!added) {
        model::Labels labels;
        add_all(labels, common);
        add_all(labels, labels_of(networks, vip.network_id));
        add_target(group, std::move(labels), util::join_host_port(*ip, std::to_string(port)));
      }
    }
  }
  return group;
}

model::TargetGroup map_nodes(const std::vector<Node>& nodes, int port) {
  model::TargetGroup group;
  group.source = "DockerSwarm";
  for (const Node& n : nodes) {
    model::Labels labels;
    labels.set(k_node_id, n.id);
    labels.set(k_node_role, n.role);
    labels.set(k_node_availability, n.availability);
    labels.set(k_node_hostname, n.hostname);
    labels.set(k_node_platform_architecture, n.architecture);
    labels.set(k_node_platform_os, n.os);
    labels.set(k_node_engine_version, n.engine_version);
    labels.set(k_node_status, n.state);
    labels.set(k_node_address, n.addr);
    if (n.has_manager) {
      labels.set(k_node_manager_leader, n.leader ? "true" : "false");
      labels.set(k_node_manager_reachability, n.reachability);
      labels.set(k_node_manager_address, n.manager_addr);
    }
    for (const auto& [key, value] : n.labels) {
      labels.set(std::string(k_node_label_prefix) + util::sanitize_label_name(key), value);
    }
    add_target(group, std::move(labels), util::join_host_port(n.addr, std::to_string(port)));
  }
  return group;
}

// The service labels a task gets, and the service's endpoint ports, by
// service id (getServicesLabelsAndPorts).
struct ServiceInfo {
  LabelMap labels;
  std::vector<PortConfig> ports;
};

std::map<std::string, ServiceInfo> service_infos(const std::vector<Service>& services) {
  std::map<std::string, ServiceInfo> infos;
  for (const Service& s : services) {
    ServiceInfo& info = infos[s.id];
    info.labels = {{std::string(k_service_id), s.id},
                   {std::string(k_service_name), s.name},
                   {std::string(k_service_mode), s.mode}};
    for (const auto& [key, value] : s.labels) {
      info.labels[std::string(k_service_label_prefix) + util::sanitize_label_name(key)] = value;
    }
    info.ports = s.ports;
  }
  return infos;
}

// The node labels a task gets, by node id (getNodesLabels).
std::map<std::string, LabelMap> node_labels(const std::vector<Node>& nodes) {
  std::map<std::string, LabelMap> labels;
  for (const Node& n : nodes) {
    LabelMap& set = labels[n.id];
    set = {{std::string(k_node_id), n.id},
           {std::string(k_node_role), n.role},
           {std::string(k_node_address), n.addr},
           {std::string(k_node_availability), n.availability},
           {std::string(k_node_hostname), n.hostname},
           {std::string(k_node_platform_architecture), n.architecture},
           {std::string(k_node_platform_os), n.os},
           {std::string(k_node_status), n.state}};
    for (const auto& [key, value] : n.labels) {
      set[std::string(k_node_label_prefix) + util::sanitize_label_name(key)] = value;
    }
  }
  return labels;
}

Result<model::TargetGroup> map_tasks(const std::vector<Task>& tasks, const std::vector<Service>& services,
                                     const std::vector<Node>& nodes, const docker::NetworkLabels& networks, int port) {
  std::map<std::string, ServiceInfo> infos = service_infos(services);
  std::map<std::string, LabelMap> nodes_by_id = node_labels(nodes);
  model::TargetGroup group;
  group.source = "DockerSwarm";
  for (const Task& t : tasks) {
    LabelMap common = {{std::string(k_task_id), t.id},
                       {std::string(k_task_desired_state), t.desired_state},
                       {std::string(k_task_state), t.state},
                       {std::string(k_task_slot), std::to_string(t.slot)}};
    if (t.has_container) {
      common[std::string(k_task_container_id)] = t.container_id;
    }
    if (t.has_container_spec) {
      for (const auto& [key, value] : t.container_labels) {
        common[std::string(k_container_label_prefix) + util::sanitize_label_name(key)] = value;
      }
    }
    const ServiceInfo* service = nullptr;
    if (auto found = infos.find(t.service_id); found != infos.end()) {
      service = &found->second;
      for (const auto& [name, value] : service->labels) {
        common[name] = value;
      }
    }
    for (const auto& [name, value] : labels_of(nodes_by_id, t.node_id)) {
      common[name] = value;
    }
    // Ports published in host mode: reached at the node's address.
    for (const PortConfig& p : t.ports) {
      if (p.protocol != "tcp") {
        continue;
      }
      model::Labels labels;
      labels.set(k_task_port_publish_mode, p.publish_mode);
      add_all(labels, common);
      std::string node_address(labels.get(k_node_address));
      add_target(group, std::move(labels), util::join_host_port(node_address, std::to_string(p.published_port)));
    }
    for (const Attachment& attachment : t.attachments) {
      for (const std::string& address : attachment.addresses) {
        Result<std::string> ip = moby::cidr_ip(address);
        if (!ip) {
          return fail(parse_error(address, ip.error()));
        }
        bool added = false;
        for (const PortConfig& p : service != nullptr ? service->ports : std::vector<PortConfig>{}) {
          if (p.protocol != "tcp") {
            continue;
          }
          model::Labels labels;
          labels.set(k_task_port_publish_mode, p.publish_mode);
          add_all(labels, common);
          add_all(labels, labels_of(networks, attachment.network_id));
          add_target(group, std::move(labels), util::join_host_port(*ip, std::to_string(p.published_port)));
          added = true;
        }
        if (!added) {
          model::Labels labels;
          add_all(labels, common);
          add_all(labels, labels_of(networks, attachment.network_id));
          add_target(group, std::move(labels), util::join_host_port(*ip, std::to_string(port)));
        }
      }
    }
  }
  return group;
}

} // namespace

void Config::validate(yaml::Checker& c) {
  if (host.empty()) {
    c.error("host missing");
    return;
  }
  model::Url parsed;
  if (std::string message = model::parse_url(host, parsed); !message.empty()) {
    c.error_at("host", message);
    return;
  }
  if (role.empty()) {
    c.error("role missing (one of: tasks, services, nodes)");
    return;
  }
  if (role != "services" && role != "nodes" && role != "tasks") {
    c.error_at("role", "invalid role " + role + ", expected tasks, services, or nodes");
    return;
  }
  if (!http_client.validate(c)) {
    return;
  }
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

Result<model::TargetGroup> group_from_services(std::string_view services, const docker::NetworkLabels& networks,
                                               int port) {
  Result<std::vector<Service>> parsed = parse_services(services);
  if (!parsed) {
    return fail(parsed.error());
  }
  return map_services(*parsed, networks, port);
}

Result<model::TargetGroup> group_from_nodes(std::string_view nodes, int port) {
  Result<std::vector<Node>> parsed = parse_nodes(nodes);
  if (!parsed) {
    return fail(parsed.error());
  }
  return map_nodes(*parsed, port);
}

Result<model::TargetGroup> group_from_tasks(std::string_view tasks, std::string_view services, std::string_view nodes,
                                            const docker::NetworkLabels& networks, int port) {
  Result<std::vector<Task>> parsed_tasks = parse_tasks(tasks);
  if (!parsed_tasks) {
    return fail(parsed_tasks.error());
  }
  Result<std::vector<Service>> parsed_services = parse_services(services);
  if (!parsed_services) {
    return fail(parsed_services.error());
  }
  Result<std::vector<Node>> parsed_nodes = parse_nodes(nodes);
  if (!parsed_nodes) {
    return fail(parsed_nodes.error());
  }
  return map_tasks(*parsed_tasks, *parsed_services, *parsed_nodes, networks, port);
}

namespace {

class Discovery {
public:
  static Result<std::unique_ptr<Discovery>> make(const Config& config) {
    net::HttpClientConfig http_client = config.http_client;
    http_client.enable_http2 = false; // v2.45 builds this round tripper with HTTP/2 off
    Result<std::unique_ptr<moby::Client>> client = moby::Client::make(
        config.host, http_client, std::chrono::milliseconds(std::max<int64_t>(config.refresh_interval.ms, 1)));
    if (!client) {
      return fail("error setting up docker swarm client: " + client.error());
    }
    auto discovery = std::unique_ptr<Discovery>(new Discovery());
    discovery->m_client = std::move(*client);
    discovery->m_role = config.role;
    discovery->m_port = config.port;
    if (std::string filters = moby::filters_json(config.filters); !filters.empty()) {
      discovery->m_query = "filters=" + util::query_escape(filters);
    }
    return discovery;
  }

  Result<std::vector<model::TargetGroup>> refresh(std::stop_token stop) {
    Result<model::TargetGroup> group = m_role == "services" ? services(stop)
                                       : m_role == "nodes"  ? nodes(stop)
                                                            : tasks(stop);
    if (!group) {
      return fail(group.error());
    }
    return std::vector<model::TargetGroup>{std::move(*group)};
  }

private:
  Discovery() = default;

  // A list call and its decoding; query "" for the unfiltered lists.
  template <class T, class Parse>
  Result<std::vector<T>> list(std::string_view path, std::string_view query, Parse parse, std::stop_token stop) {
    Result<std::string> body = m_client->get(path, query, std::move(stop));
    if (!body) {
      return fail(body.error());
    }
    return parse(*body);
  }

  Result<model::TargetGroup> services(std::stop_token stop) {
    Result<std::vector<Service>> services = list<Service>("/services", m_query, parse_services, stop);
    if (!services) {
      return fail("error while listing swarm services: " + services.error());
    }
    Result<docker::NetworkLabels> networks = m_client->network_labels(k_prefix, stop);
    if (!networks) {
      return fail("error while computing swarm network labels: " + networks.error());
    }
    return map_services(*services, *networks, m_port);
  }

  Result<model::TargetGroup> nodes(std::stop_token stop) {
    Result<std::vector<Node>> nodes = list<Node>("/nodes", m_query, parse_nodes, stop);
    if (!nodes) {
      return fail("error while listing swarm nodes: " + nodes.error());
    }
    return map_nodes(*nodes, m_port);
  }

  Result<model::TargetGroup> tasks(std::stop_token stop) {
    Result<std::vector<Task>> tasks = list<Task>("/tasks", m_query, parse_tasks, stop);
    if (!tasks) {
      return fail("error while listing swarm services: " + tasks.error()); // sic, as v2.45 words it
    }
    Result<std::vector<Service>> services = list<Service>("/services", "", parse_services, stop);
    if (!services) {
      return fail("error while computing services labels and ports: " + services.error());
    }
    Result<std::vector<Node>> nodes = list<Node>("/nodes", "", parse_nodes, stop);
    if (!nodes) {
      return fail("error while computing nodes labels and ports: error while listing swarm nodes: " + nodes.error());
    }
    Result<docker::NetworkLabels> networks = m_client->network_labels(k_prefix, stop);
    if (!networks) {
      return fail("error while computing swarm network labels: " + networks.error());
    }
    return map_tasks(*tasks, *services, *nodes, *networks, m_port);
  }

  std::unique_ptr<moby::Client> m_client;
  std::string m_role;
  int m_port = 80;
  std::string m_query;
};

} // namespace

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& /*options*/) const {
  return make_refresh_discoverer<Discovery>(*this, refresh_interval.ms);
}

} // namespace sdscope::discovery::dockerswarm
