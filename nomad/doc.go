// Package nomad renders the Nomad jobs of a topology (typed nomad/api jobs, written as HCL and JSON) and submits them.
package nomad
