// Package move moves a host group's VIP and drains hosts through Pacemaker's own constraints and
// standby, and waits until the address answers where it should.
package move
