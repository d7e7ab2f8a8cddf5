// Package haproxy renders the haproxy.cfg of each cluster: the bundle's haproxy/<cluster>.cfg, which the HAProxy job carries.
package haproxy
