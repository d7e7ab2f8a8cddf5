// Package pcmk runs Pacemaker's and Corosync's command-line tools (on this host, or inside a
// lab host's namespaces) under a deadline, and reads what crm_mon and corosync-cmapctl print.
package pcmk
