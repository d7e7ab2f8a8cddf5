// Package topogen writes valid vipctl.hcl topologies of a chosen shape, for tests.
package topogen
