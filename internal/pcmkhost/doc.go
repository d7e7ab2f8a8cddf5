// Package pcmkhost runs one Corosync + Pacemaker host in its own namespaces on this machine.
package pcmkhost
