// Package badtopo builds the bad topologies of vipctl's tests: one valid base topology and,
// for each case, the edits that break it and the diagnostics the loader must give.
package badtopo
