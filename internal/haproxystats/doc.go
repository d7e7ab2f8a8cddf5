// Package haproxystats reads HAProxy's stats CSV (the "show stat" format of the stats page).
package haproxystats
