// Package viptest gives tests throw-away network namespaces joined by a veth pair, and packet capture inside them.
package viptest
