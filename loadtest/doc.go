// Package loadtest is the scenario runner behind cmd/chatload: it drives a running
// cluster through the public contract and reports latency, throughput and delivery
// anomalies. It arrives with the operators' kit (issue 5).
package loadtest
