// Package nomad renders the Nomad jobs, HAProxy configs, pgbackrest files and compose micro-cluster of a topology.
package nomad
