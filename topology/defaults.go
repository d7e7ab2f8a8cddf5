package topology

// Defaults of the file format, defined here once (docs/topology.md lists them).
const (
	defaultDatacenter         = "dc1"
	defaultConsulAddress      = "127.0.0.1:8500"
	defaultConsulDNS          = "127.0.0.1:8600"
	defaultConsulJobAddress   = "${attr.unique.network.ip-address}:8500"
	defaultTokenMS            = 1000
	defaultStonithEnabled     = true
	defaultNoQuorumPolicy     = "stop"
	defaultResourceStickiness = 100
	defaultAgent              = AgentVipctl
	defaultStatsPortOffset    = 1000 // stats_port = port + this
	defaultCPU                = 4400
	defaultMemoryMB           = 512
	defaultDiskMB             = 1024
	defaultMbits              = 100
	defaultBackupEnabled      = true
	defaultBackupSchedule     = "0 3 * * *"
	defaultRepoType           = RepoPosix
	defaultRepoPath           = "/var/lib/pgbackrest"
	// Patroni and HAProxy: measured in the stack lab (docs/stack-lab.md), about half the write
	// outage of Patroni's own defaults (ttl 30, loop_wait 10, retry_timeout 10).
	// retry_timeout must outlast a Consul leader election (about 2.5 s at raft_multiplier 1):
	// with 2 s, a primary demoted itself when the Consul leader's host failed.
	defaultPatroniTTL          = 10
	defaultPatroniLoopWait     = 1
	defaultPatroniRetryTimeout = 4
	defaultPrimaryStartTimeout = 300 // Patroni's: a crashed primary recovers rather than fails over
	defaultSynchronousMode     = false
	defaultCheckIntervalMS     = 1000
	defaultCheckFall           = 2
	defaultCheckRise           = 1
	defaultResolveIntervalMS   = 1000 // HAProxy's own: 10 s
)

// defaultNomadVersion is the Nomad the jobs are written for when nomad.version is not set:
// 1.8, the first with the group's disconnect block. minNomadVersion is the oldest that can run
// them at all: the password templates read Nomad Variables (1.4).
var (
	defaultNomadVersion = NomadVersion{Major: 1, Minor: 8}
	minNomadVersion     = NomadVersion{Major: 1, Minor: 4}
)
