// Package metrics exports the VIP layer of a topology to Prometheus as one host sees it: where each group's VIP runs, whether this host holds the address, the VIPs' moves and agent durations from the local journal, and this host's HAProxy backends.
package metrics
