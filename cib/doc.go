// Package cib renders the Pacemaker CIB that a topology asks for, checks it with crm_verify, plays failures through crm_simulate, and brings a live cluster's CIB to it: diff shows what would change, apply writes vipctl's part through cibadmin in one atomic change.
package cib
