// Package cib renders the Pacemaker CIB that a topology asks for, checks it with crm_verify and plays failures through crm_simulate.
package cib
