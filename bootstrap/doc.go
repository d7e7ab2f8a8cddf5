// Package bootstrap makes one host of a topology a working cluster member: it plans ordered, idempotent steps, checks each against the host's current state, and applies only what differs.
package bootstrap
