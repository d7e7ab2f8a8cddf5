// Package journal keeps the local failover history: Pacemaker's resource and node events as JSON lines, appended by the alert agent and read by events, status and metrics.
package journal
