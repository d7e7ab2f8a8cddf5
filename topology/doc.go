// Package topology loads vipctl.hcl: the hosts, host groups and PostgreSQL clusters of one Pacemaker cluster, with every default applied and every rule checked.
package topology
