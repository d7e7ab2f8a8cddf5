// Package corosync renders the corosync.conf of a topology's cluster.
package corosync
