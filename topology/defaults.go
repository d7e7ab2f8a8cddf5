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
)
