# One pod (a Kubernetes Pod object) as Prometheus file_sd target groups carrying the labels of Prometheus's
# Kubernetes discovery, role `pod` (2.42): a target per container port, a portless target per container without
# ports, none for a pod without an address. A jq module: `include "prometheus-sd"; pod_targets` (tests/realnode/prometheus-sd.sh).
def sanitize: gsub("[^a-zA-Z0-9_]"; "_");
def prefixed(p): to_entries | map({key: (p + (.key | sanitize)), value: .value}) | from_entries;
def present(p): to_entries | map({key: (p + (.key | sanitize)), value: "true"}) | from_entries;
def pod_targets:
. as $pod
| ($pod.status.podIP // "") as $ip
| if $ip == "" then [] else
  ([($pod.status.conditions // [])[] | select(.type == "Ready") | .status | ascii_downcase] | first // "unknown") as $ready
  | ([($pod.metadata.ownerReferences // [])[] | select(.controller == true)] | first) as $controller
  | ({
      __meta_kubernetes_namespace: $pod.metadata.namespace,
      __meta_kubernetes_pod_name: $pod.metadata.name,
      __meta_kubernetes_pod_ip: $ip,
      __meta_kubernetes_pod_ready: $ready,
      __meta_kubernetes_pod_phase: ($pod.status.phase // ""),
      __meta_kubernetes_pod_node_name: ($pod.spec.nodeName // ""),
      __meta_kubernetes_pod_host_ip: ($pod.status.hostIP // ""),
      __meta_kubernetes_pod_uid: $pod.metadata.uid
    }
    + (if $controller then {__meta_kubernetes_pod_controller_kind: $controller.kind,
                             __meta_kubernetes_pod_controller_name: $controller.name} else {} end)
    + (($pod.metadata.labels // {}) | prefixed("__meta_kubernetes_pod_label_"))
    + (($pod.metadata.labels // {}) | present("__meta_kubernetes_pod_labelpresent_"))
    + (($pod.metadata.annotations // {}) | prefixed("__meta_kubernetes_pod_annotation_"))
    + (($pod.metadata.annotations // {}) | present("__meta_kubernetes_pod_annotationpresent_"))) as $labels
  | [ (($pod.spec.containers // [])[] | {c: ., init: "false"}), (($pod.spec.initContainers // [])[] | {c: ., init: "true"}) ]
  | map(. as $e
      | ($labels + {
          __meta_kubernetes_pod_container_name: $e.c.name,
          __meta_kubernetes_pod_container_image: ($e.c.image // ""),
          __meta_kubernetes_pod_container_init: $e.init
        }) as $container
      | if ($e.c.ports // []) == [] then
          {targets: [$ip], labels: $container}
        else
          ($e.c.ports[] | {
            targets: ["\($ip):\(.containerPort)"],
            labels: ($container + {
              __meta_kubernetes_pod_container_port_name: (.name // ""),
              __meta_kubernetes_pod_container_port_number: (.containerPort | tostring),
              __meta_kubernetes_pod_container_port_protocol: (.protocol // "TCP")
            })
          })
        end)
  end;
