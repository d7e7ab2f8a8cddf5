// Package bundle holds the files of a rendered bundle (File) and writes a bundle directory
// whole or not at all (Write). The renderers (cib, corosync, nomad, haproxy, backup, compose)
// return Files; cmd/vipctl collects them and calls Write.
package bundle
