// Package vip puts a virtual IP address on a host interface through netlink, announces it with gratuitous ARP or unsolicited neighbour advertisements, and runs the ocf:vipctl:vip resource agent.
package vip
