// Package fakeconsul serves, in process, the few Consul HTTP API endpoints vipctl calls, answering with consul/api types (Consul itself cannot be installed here).
package fakeconsul
