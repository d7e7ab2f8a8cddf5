// Package procscan reads this machine's process table from /proc: one process's state, and
// the processes living in given namespaces.
package procscan
