// Package deploy holds what operators run chatd with, and no Go code of its own:
//
//   - k8s/: the Kubernetes manifests (a StatefulSet with a headless Service for the
//     gossip seeds, a client Service, a PodDisruptionBudget, a Secret template),
//     tied together by kustomization.yaml;
//   - grafana/chatd.json: a Grafana dashboard over the nodes' Prometheus metrics;
//   - local/cluster.sh: a local cluster of chatd processes on loopback ports against
//     a local Postgres and Redis (`make cluster`);
//   - Dockerfile: the container image the manifests run.
//
// Its test (part of `make test`) checks them offline: every manifest decodes strictly
// into its Kubernetes API type (k8s.io/api; unknown, mis-cased or duplicate fields
// fail, as they do under the API server's strict field validation), the manifests
// agree with each other and with chatd's flags, ports and endpoints, and every query
// of the dashboard names a metric that the code registers.
package deploy
