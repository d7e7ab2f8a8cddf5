// Package lab runs a topology's hosts on this machine, each in its own namespaces with real Corosync and Pacemaker, and breaks them on purpose.
package lab
