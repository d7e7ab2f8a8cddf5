// Package status reports where each VIP runs, whether it is really there, each cluster's leader and HAProxy health.
package status
