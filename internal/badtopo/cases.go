package badtopo

import "strings"

// Places of Base that the cases edit.
const (
	clusterName = "corosync.cluster_name"
	h1          = "host.h1"
	h2          = "host.h2"
	vip         = "host_group.g.vip"
	cluster     = "cluster.c"
	backup      = "cluster.c.backup"
	repo        = "cluster.c.backup.repo"
	repoPath    = "cluster.c.backup.repo.path"
	schedule    = "cluster.c.backup.schedule"
)

// consul is a consul block with one attribute, put first in the file by Insert(corosync, …).
func consul(attr, value string) string { return "consul {\n" + attr + " = " + value + "\n}" }

// host3 is a third host, in no host group, inserted before host_group g (so at line 13).
const host3 = "host \"h3\" {\naddress = \"192.0.2.3\"\n}"

// fence is a fence block of three attributes, inserted before host h1 (so at line 7).
func fence(name, agent, host, params string) string {
	s := "fence \"" + name + "\" {\n"
	if agent != "" {
		s += "agent = \"" + agent + "\"\n"
	}
	s += "host = \"" + host + "\"\n"
	if params != "" {
		s += "params = " + params + "\n"
	}
	return s + "}"
}

// secondCluster is another cluster on host group g, appended to the file (so at line 31).
func secondCluster(name, port, patroniPort string) string {
	return "cluster \"" + name + "\" {\nhost_group = \"g\"\nport = " + port + "\npatroni_port = " + patroniPort + "\nimage = \"img\"\n}"
}

// Cases are the bad topologies, each Base with a few edits. Positions are those of the
// generated file (Base's line numbers, moved by what the edits add or remove above them).
func Cases() []Case {
	return []Case{
		// corosync
		{"cluster-name-brace", []Edit{Set(clusterName, `"pg{prod}"`)}, []Want{{2, 18, `Invalid cluster_name "pg{prod}"`, ""}}},
		{"cluster-name-hash", []Edit{Set(clusterName, `"pg#1"`)}, []Want{{2, 18, `Invalid cluster_name "pg#1"`, ""}}},
		{"cluster-name-leading-dash", []Edit{Set(clusterName, `"-pg"`)}, []Want{{2, 18, `Invalid cluster_name "-pg"`, ""}}},
		{"cluster-name-quote", []Edit{Set(clusterName, `"pg\"prod"`)}, []Want{{2, 18, `Invalid cluster_name "pg"prod"`, ""}}},
		{"cluster-name-space", []Edit{Set(clusterName, `"pg prod"`)}, []Want{{2, 18, `Invalid cluster_name "pg prod"`, ""}}},
		{"cluster-name-too-long-corosync", []Edit{Set(clusterName, `"`+strings.Repeat("c", 256)+`"`)},
			[]Want{{2, 18, `Invalid cluster_name "` + strings.Repeat("c", 256) + `"`, ""}}},
		{"missing-cluster-name", []Edit{Delete(clusterName), Set("corosync.token_ms", "1000")}, []Want{{1, 1, "Missing cluster_name", ""}}},
		{"token-ms-too-large", []Edit{Set("corosync.token_ms", "600000")}, []Want{{3, 18, "Invalid token_ms 600000", ""}}},
		{"token-ms-too-small", []Edit{Set("corosync.token_ms", "50")}, []Want{{3, 18, "Invalid token_ms 50", ""}}},
		{"missing-corosync", []Edit{Delete("corosync")}, []Want{{1, 1, "Missing corosync block", ""}}},
		{"duplicate-corosync-block", []Edit{Insert("corosync", "corosync {\ncluster_name = \"u\"\n}")},
			[]Want{{4, 1, "Duplicate corosync block", "1,1"}}},

		// top level
		{"datacenters-string", []Edit{Insert("corosync", `datacenters = "dc1"`)}, []Want{{1, 15, `Invalid datacenters "dc1"`, ""}}},
		{"empty-datacenters", []Edit{Insert("corosync", `datacenters = []`)}, []Want{{1, 15, "Empty datacenters", ""}}},
		{"duplicate-datacenter", []Edit{Insert("corosync", `datacenters = ["dc1", "dc2", "dc1"]`)},
			[]Want{{1, 30, `Duplicate datacenter "dc1"`, "1,16"}}},
		{"unknown-block", []Edit{Append("", "frobnicate {\n}")}, []Want{{31, 1, "Unsupported block type", ""}}},

		// consul
		{"consul-bad-address", []Edit{Insert("corosync", consul("address", `"127.0.0.1"`))}, []Want{{2, 13, `Invalid address "127.0.0.1"`, ""}}},
		{"consul-dns-hostname", []Edit{Insert("corosync", consul("dns", `"localhost:8600"`))}, []Want{{2, 9, `Invalid dns "localhost:8600"`, ""}}},
		{"consul-dns-broadcast", []Edit{Insert("corosync", consul("dns", `"255.255.255.255:8600"`))}, []Want{{2, 9, `Invalid dns "255.255.255.255:8600"`, ""}}},
		{"consul-dns-ipv6-unspecified", []Edit{Insert("corosync", consul("dns", `"[::]:8600"`))}, []Want{{2, 9, `Invalid dns "[::]:8600"`, ""}}},
		{"consul-dns-mapped", []Edit{Insert("corosync", consul("dns", `"[::ffff:127.0.0.1]:8600"`))}, []Want{{2, 9, `Invalid dns "[::ffff:127.0.0.1]:8600"`, ""}}},
		{"consul-dns-multicast", []Edit{Insert("corosync", consul("dns", `"224.0.0.251:5353"`))}, []Want{{2, 9, `Invalid dns "224.0.0.251:5353"`, ""}}},
		{"consul-dns-unspecified", []Edit{Insert("corosync", consul("dns", `"0.0.0.0:8600"`))}, []Want{{2, 9, `Invalid dns "0.0.0.0:8600"`, ""}}},
		{"consul-dns-zone", []Edit{Insert("corosync", consul("dns", `"[fe80::1%eth0]:8600"`))}, []Want{{2, 9, `Invalid dns "[fe80::1%eth0]:8600"`, ""}}},
		{"consul-job-address-interpolation", []Edit{Insert("corosync", consul("job_address", `"${attr.unique.network.ip-address}:8500"`))},
			[]Want{{2, 17, `Invalid job_address "${attr.unique.network.ip-address}:8500"`, ""}}},

		// pacemaker and fencing
		{"bad-no-quorum-policy", []Edit{Set("pacemaker.no_quorum_policy", `"ignore-all"`)}, []Want{{6, 22, `Invalid no_quorum_policy "ignore-all"`, ""}}},
		{"stonith-default-without-fence", []Edit{Delete("pacemaker")}, []Want{{4, 1, "No fence device for host h1, h2", ""}}},
		{"bad-fence-name", []Edit{Insert(h1, fence("IPMI h1", "fence_ipmilan", "h1", ""))}, []Want{{7, 7, `Invalid name "IPMI h1"`, ""}}},
		{"fence-missing-agent", []Edit{Insert(h1, fence("ipmi-h1", "", "h1", ""))}, []Want{{7, 1, "Missing agent", ""}}},
		{"fence-agent-path", []Edit{Insert(h1, fence("ipmi-h1", "../../bin/sh", "h1", ""))}, []Want{{8, 11, `Invalid agent "../../bin/sh"`, ""}}},
		{"fence-agent-absolute", []Edit{Insert(h1, fence("ipmi-h1", "/usr/sbin/fence_ipmilan", "h1", ""))}, []Want{{8, 11, `Invalid agent "/usr/sbin/fence_ipmilan"`, ""}}},
		{"fence-agent-two-slashes", []Edit{Insert(h1, fence("ipmi-h1", "external/x/y", "h1", ""))}, []Want{{8, 11, `Invalid agent "external/x/y"`, ""}}},
		{"fence-agent-space", []Edit{Insert(h1, fence("ipmi-h1", "fence_ipmilan -o off", "h1", ""))}, []Want{{8, 11, `Invalid agent "fence_ipmilan -o off"`, ""}}},
		{"fence-unknown-host", []Edit{Insert(h1, fence("ipmi-h9", "fence_ipmilan", "h9", ""))}, []Want{{9, 11, `Unknown host "h9"`, ""}}},
		{"fence-password-in-file", []Edit{Insert(h1, fence("ipmi-h1", "fence_ipmilan", "h1", `{ ip = "192.0.2.201", password = "hunter2" }`))},
			[]Want{{10, 34, "Secret in params: password", ""}}},
		{"fence-secret-community", []Edit{Insert(h1, fence("f1", "fence_apc_snmp", "h1", `{ ip = "10.0.0.2", community = "private" }`))},
			[]Want{{10, 31, "Secret in params: community", ""}}},
		{"fence-secret-key", []Edit{Insert(h1, fence("f1", "fence_aws", "h1", `{ region = "eu-west-1", secret_key = "x" }`))},
			[]Want{{10, 36, "Secret in params: secret_key", ""}}},
		{"fence-secret-passwd-variant", []Edit{Insert(h1, fence("f1", "fence_ipmilan", "h1", `{ ip = "10.0.0.1", snmp_priv_passwd = "x" }`))},
			[]Want{{10, 31, "Secret in params: snmp_priv_passwd", ""}}},
		{"fence-secret-token", []Edit{Insert(h1, fence("f1", "fence_kubevirt", "h1", `{ api_token = "x" }`))},
			[]Want{{10, 14, "Secret in params: api_token", ""}}},
		{"fence-secret-uppercase", []Edit{Insert(h1, fence("f1", "fence_ipmilan", "h1", `{ Password = "x" }`))},
			[]Want{{10, 14, "Secret in params: Password", ""}}},

		{"stonith-without-fence", []Edit{Set("pacemaker.stonith_enabled", "true"), Insert(h1, fence("ipmi-h1", "fence_ipmilan", "h1", "")), Insert("host_group.g", host3)},
			[]Want{{5, 21, "No fence device for host h2, h3", ""}}},
		{"duplicate-fence", []Edit{Delete("pacemaker"), Insert(h1, fence("ipmi", "fence_ipmilan", "h1", "")+"\n"+fence("ipmi", "fence_ipmilan", "h2", ""))},
			[]Want{{8, 7, `Duplicate fence "ipmi"`, "4,7"}}},
		{"fence-pcmk-host-check", []Edit{Insert(h1,
			fence("ipmi-h1", "fence_ipmilan", "h1", `{ ip = "192.0.2.201", pcmk_host_check = "dynamic-list" }`)+"\n"+
				fence("ipmi-h2", "fence_ipmilan", "h2", `{ ip = "192.0.2.202", pcmk_host_check = "static-list" }`))},
			[]Want{{10, 34, `pcmk_host_check "dynamic-list" in params`, ""}}},
		{"fence-pcmk-host-list", []Edit{Delete("pacemaker"), Insert(h1,
			fence("ipmi-h1", "fence_ipmilan", "h1", `{ ip = "192.0.2.201", pcmk_host_list = "h1,h2" }`)+"\n"+
				fence("ipmi-h2", "fence_ipmilan", "h2", "{\nip = \"192.0.2.202\"\n\"pcmk_host_list\" = \"h2\"\n}"))},
			[]Want{{7, 34, "pcmk_host_list in params", ""}, {14, 5, "pcmk_host_list in params", ""}}},

		// hosts
		{"bad-host-name", []Edit{Relabel(h2, "-h2"), Set("host_group.g.hosts", `["h1", "-h2"]`)}, []Want{{10, 6, `Invalid name "-h2"`, ""}}},
		{"host-names-case", []Edit{Relabel(h2, "H1"), Set("host_group.g.hosts", `["h1", "H1"]`)},
			[]Want{{10, 6, `Host "H1" is the same node name as "h1"`, "7,6"}}},
		{"host-names-trailing-dot", []Edit{Relabel(h2, "h1."), Set("host_group.g.hosts", `["h1", "h1."]`)},
			[]Want{{10, 6, `Host "h1." is the same node name as "h1"`, "7,6"}}},
		{"duplicate-host", []Edit{Insert("host_group.g", "host \"h2\" {\naddress = \"192.0.2.3\"\n}")}, []Want{{13, 6, `Duplicate host "h2"`, "10,6"}}},
		{"bad-host-address", []Edit{Set(h2+".address", `"192.0.2.256"`)}, []Want{{11, 13, `Invalid address "192.0.2.256"`, ""}}},
		{"duplicate-host-address", []Edit{Set(h2+".address", `"192.0.2.1"`)}, []Want{{11, 13, `Duplicate address "192.0.2.1"`, "8,13"}}},
		{"host-address-ipv4-mapped", []Edit{Set(h2+".address", `"::ffff:192.0.2.2"`)}, []Want{{11, 13, `Invalid address "::ffff:192.0.2.2"`, ""}}},
		{"host-address-multicast", []Edit{Set(h2+".address", `"224.0.0.5"`)}, []Want{{11, 13, `Invalid address "224.0.0.5"`, ""}}},
		{"host-address-loopback", []Edit{Set(h1+".address", `"127.0.0.1"`)}, []Want{{8, 13, `Loopback address "127.0.0.1"`, ""}}},
		{"host-address-loopback-ipv6", []Edit{Set(h1+".address", `"::1"`), Set(h2+".address", `"2001:db8::2"`), Set(vip+".address", `"2001:db8::100/64"`)},
			[]Want{{8, 13, `Loopback address "::1"`, ""}}},
		{"mixed-families", []Edit{Set(h2+".address", `"2001:db8::2"`)}, []Want{{11, 13, `Mixed address families: "2001:db8::2"`, "8,13"}}},
		{"missing-host-address", []Edit{Delete(h2 + ".address"), Set(h2+".nodeid", "2")}, []Want{{10, 1, "Missing address", ""}}},
		{"unknown-attribute", []Edit{Delete(h2 + ".address"), Set(h2+".adress", `"192.0.2.2"`)},
			[]Want{{10, 1, "Missing address", ""}, {11, 3, "Unsupported argument", ""}}},
		{"nic-dot", []Edit{Set(h1+".nic", `"."`)}, []Want{{9, 13, `Invalid nic "."`, ""}}},
		{"nic-dotdot", []Edit{Set(h1+".nic", `".."`)}, []Want{{9, 13, `Invalid nic ".."`, ""}}},
		{"nodeid-too-large", []Edit{Set(h2+".nodeid", "4294967296")}, []Want{{12, 13, "Invalid nodeid 4294967296", ""}}},
		{"nodeid-zero", []Edit{Set(h2+".nodeid", "0")}, []Want{{12, 13, "Invalid nodeid 0", ""}}},
		{"duplicate-nodeid", []Edit{Set(h1+".nodeid", "7"), Set(h2+".nodeid", "7")}, []Want{{13, 13, "Duplicate nodeid 7", "9,13"}}},
		{"duplicate-nodeid-default", []Edit{Set(h1+".nodeid", "2")}, []Want{{11, 1, "Duplicate nodeid 2", "9,13"}}},

		{"no-hosts", []Edit{Delete(h1), Delete(h2), Set("host_group.g.hosts", "[]")}, []Want{{1, 1, "No host block", ""}, {8, 11, "Empty hosts", ""}}},
		{"second-link-missing", []Edit{Delete(h1 + ".address"), Set(h1+".addresses", `["192.0.2.1", "198.51.100.1"]`),
			Insert("host_group.g", "host \"h3\" {\naddresses = [\"192.0.2.3\"]\n}"), Set("host_group.g.hosts", `["h1", "h2", "h3"]`)},
			[]Want{{11, 13, "Second link missing", ""}}},
		{"bad-second-link", []Edit{
			Delete(h1 + ".address"), Set(h1+".addresses", `["192.0.2.1", "2001:db8::1"]`),
			Delete(h2 + ".address"), Set(h2+".addresses", `["192.0.2.2", "192.0.2.1"]`),
			Insert("host_group.g", "host \"h3\" {\naddress = \"192.0.2.3\"\naddresses = [\"192.0.2.3\", \"198.51.100.3\"]\n}\n"+
				"host \"h4\" {\naddresses = [\"192.0.2.4\", \"198.51.100.4\", \"203.0.113.4\"]\n}")},
			[]Want{{8, 29, `Invalid address "2001:db8::1"`, ""}, {11, 29, `Duplicate address "192.0.2.1"`, "8,16"},
				{15, 15, "Both address and addresses", ""}, {18, 15, "Invalid addresses (3)", ""}}},

		// host groups and VIPs
		{"bad-group-name", []Edit{Relabel("host_group.g", "DB_A"), Set(cluster+".host_group", `"DB_A"`)}, []Want{{13, 12, `Invalid name "DB_A"`, ""}}},
		{"host-twice-in-group", []Edit{Set("host_group.g.hosts", `["h1", "h2", "h1"]`)}, []Want{{14, 24, `Duplicate host "h1"`, "14,12"}}},
		{"unknown-host-in-group", []Edit{Set("host_group.g.hosts", `["h1", "h2", "h3"]`)}, []Want{{14, 24, `Unknown host "h3"`, ""}}},
		{"host-in-two-groups", []Edit{Insert(cluster, "host_group \"g2\" {\nhosts = [\"h2\"]\nvip {\naddress = \"192.0.2.101/24\"\n}\n}")},
			[]Want{{20, 12, `Host "h2" in two host groups`, "14,18"}}},
		{"missing-vip", []Edit{Delete(vip)}, []Want{{13, 1, "Missing vip block", ""}}},
		{"duplicate-vip-block", []Edit{Append("host_group.g", "vip {\naddress = \"192.0.2.101/24\"\n}")}, []Want{{18, 3, "Duplicate vip block", "15,3"}}},
		{"vip-broadcast-address", []Edit{Set(vip+".address", `"192.0.2.255/24"`)}, []Want{{16, 15, `Invalid VIP "192.0.2.255/24"`, ""}}},
		{"vip-network-address", []Edit{Set(vip+".address", `"192.0.2.0/24"`)}, []Want{{16, 15, `Invalid VIP "192.0.2.0/24"`, ""}}},
		{"vip-ipv6-network-address", []Edit{Set(vip+".address", `"2001:db8:1::/64"`)}, []Want{{16, 15, `Invalid VIP "2001:db8:1::/64"`, ""}}},
		{"vip-prefix-zero", []Edit{Set(vip+".address", `"192.0.2.100/0"`)}, []Want{{16, 15, `Invalid VIP "192.0.2.100/0"`, ""}}},
		{"vip-prefix-zero-ipv6", []Edit{Set(vip+".address", `"2001:db8::100/0"`)}, []Want{{16, 15, `Invalid VIP "2001:db8::100/0"`, ""}}},
		{"vip-is-host-address", []Edit{Set(vip+".address", `"192.0.2.2/24"`)}, []Want{{16, 15, `VIP "192.0.2.2/24" is a host's address`, "11,13"}}},
		{"vip-multicast", []Edit{Set(vip+".address", `"ff02::1/64"`)}, []Want{{16, 15, `Invalid VIP "ff02::1/64"`, ""}}},
		{"vip-not-prefix", []Edit{Set(vip+".address", `"192.0.2.100"`)}, []Want{{16, 15, `Invalid VIP "192.0.2.100"`, ""}}},
		{"bad-agent", []Edit{Set(vip+".agent", `"ocf:heartbeat:IPaddr2"`)}, []Want{{17, 15, `Invalid agent "ocf:heartbeat:IPaddr2"`, ""}}},
		{"bad-nic", []Edit{Set(vip+".nic", `"eth0:1"`)}, []Want{{17, 15, `Invalid nic "eth0:1"`, ""}}},
		{"vip-nic-dotdot", []Edit{Set(vip+".nic", `".."`)}, []Want{{17, 15, `Invalid nic ".."`, ""}}},
		{"ipaddr2-without-nic", []Edit{Set(h1+".nic", `"eth0"`), Set(vip+".agent", `"IPaddr2"`)}, []Want{{18, 15, `Agent "IPaddr2" without nic`, ""}}},

		{"empty-group", []Edit{Set("host_group.g.hosts", "[]")}, []Want{{14, 11, "Empty hosts", ""}}},
		{"no-host-groups", []Edit{Delete("host_group.g"), Delete(cluster)}, []Want{{1, 1, "No host_group block", ""}}},
		{"duplicate-group", []Edit{Insert("host_group.g", host3), Insert(cluster, "host_group \"g\" {\nhosts = [\"h3\"]\nvip {\naddress = \"192.0.2.101/24\"\n}\n}")},
			[]Want{{22, 12, `Duplicate host_group "g"`, "16,12"}}},
		{"duplicate-vip", []Edit{Insert("host_group.g", host3), Insert(cluster, "host_group \"g2\" {\nhosts = [\"h3\"]\nvip {\naddress = \"192.0.2.100/25\"\n}\n}")},
			[]Want{{25, 15, `Duplicate VIP "192.0.2.100"`, "19,15"}}},

		// clusters
		{"bad-cluster-name", []Edit{Relabel(cluster, "1st")}, []Want{{19, 9, `Invalid name "1st"`, ""}}},
		{"cluster-name-too-long", []Edit{Relabel(cluster, "c"+strings.Repeat("x", 50))}, []Want{{19, 9, `Invalid name "c` + strings.Repeat("x", 50) + `"`, ""}}},
		{"duplicate-cluster", []Edit{Append("", secondCluster("c", "5002", "8009"))}, []Want{{31, 9, `Duplicate cluster "c"`, "19,9"}}},
		{"missing-host-group", []Edit{Delete(cluster + ".host_group")}, []Want{{19, 1, "Missing host_group", ""}}},
		{"missing-port", []Edit{Delete(cluster + ".port")}, []Want{{19, 1, "Missing port", ""}}},
		{"missing-patroni-port", []Edit{Delete(cluster + ".patroni_port")}, []Want{{19, 1, "Missing patroni_port", ""}}},
		{"missing-image", []Edit{Delete(cluster + ".image")}, []Want{{19, 1, "Missing image", ""}}},
		{"unknown-cluster-group", []Edit{Set(cluster+".host_group", `"db-z"`)}, []Want{{20, 18, `Unknown host_group "db-z"`, ""}}},
		{"port-consul", []Edit{Set(cluster+".port", "8500")}, []Want{{21, 18, "Invalid port 8500", ""}}},
		{"port-nomad-dynamic-range", []Edit{Set(cluster+".port", "25000")}, []Want{{21, 18, "Invalid port 25000", ""}}},
		{"port-out-of-range", []Edit{Set(cluster+".port", "70000")}, []Want{{21, 18, "Invalid port 70000", ""}}},
		{"wrong-type", []Edit{Set(cluster+".port", `"fifty"`)}, []Want{{21, 18, `Invalid port "fifty"`, ""}}},
		{"stats-port-default-out-of-range", []Edit{Set(cluster+".port", "19500")}, []Want{{21, 18, "Invalid stats_port 20500", ""}}},
		{"patroni-port-consul-serf", []Edit{Set(cluster+".patroni_port", "8301")}, []Want{{22, 18, "Invalid patroni_port 8301", ""}}},
		{"empty-image", []Edit{Set(cluster+".image", `""`)}, []Want{{23, 18, `Invalid image ""`, ""}}},
		{"control-character-in-image", []Edit{Set(cluster+".image", `"img\nrm -rf /"`)}, []Want{{23, 18, `Invalid image "img\nrm -rf /"`, ""}}},
		{"replicas-above-group-size", []Edit{Set(cluster+".replicas", "3")}, []Want{{24, 18, "Invalid replicas 3", ""}}},
		{"replicas-zero", []Edit{Set(cluster+".replicas", "0")}, []Want{{24, 18, "Invalid replicas 0", ""}}},
		{"stats-port-equals-patroni-port", []Edit{Set(cluster+".stats_port", "8008")}, []Want{{24, 18, `Port 8008 used twice on host group "g"`, "22,18"}}},
		{"bad-patroni-loop-wait", []Edit{Insert(backup, "patroni {\nloop_wait = 0\n}")}, []Want{{25, 17, "Invalid loop_wait 0", ""}}},
		{"bad-resources", []Edit{Insert(backup, "resources {\nmemory = 0\n}")}, []Want{{25, 14, "Invalid memory 0", ""}}},
		{"same-port-two-clusters", []Edit{Append("", secondCluster("d", "5001", "8009"))}, []Want{{33, 18, `Port 5001 used twice on host group "g"`, "21,18"}}},
		{"same-patroni-port-two-clusters", []Edit{Append("", secondCluster("d", "5002", "8008"))}, []Want{{34, 18, `Port 8008 used twice on host group "g"`, "22,18"}}},
		{"patroni-port-equals-other-port", []Edit{Append("", secondCluster("d", "5002", "5001"))}, []Want{{34, 18, `Port 5001 used twice on host group "g"`, "21,18"}}},
		{"port-equals-default-stats-port", []Edit{Append("", secondCluster("d", "6001", "8009"))}, []Want{{33, 18, `Port 6001 used twice on host group "g"`, "21,18"}}},

		{"bad-failover-settings", []Edit{Insert(backup, "patroni {\nttl = 10\nloop_wait = 4\nretry_timeout = 4\n}\nhaproxy {\ncheck_interval_ms = 10\nrise = 0\n}")},
			[]Want{{25, 21, "Invalid ttl 10", ""}, {30, 25, "Invalid check_interval_ms 10", ""}, {31, 25, "Invalid rise 0", ""}}},

		// backups
		{"bad-schedule", []Edit{Set(schedule, `"every night"`)}, []Want{{25, 16, `Invalid schedule "every night"`, ""}}},
		{"schedule-six-fields", []Edit{Set(schedule, `"0 0 3 * * *"`)}, []Want{{25, 16, `Invalid schedule "0 0 3 * * *"`, ""}}},
		{"schedule-cron-5L", []Edit{Set(schedule, `"0 3 * * 5L"`)}, []Want{{25, 16, `Invalid schedule "0 3 * * 5L"`, ""}}},
		{"schedule-cron-L", []Edit{Set(schedule, `"0 3 L * *"`)}, []Want{{25, 16, `Invalid schedule "0 3 L * *"`, ""}}},
		{"schedule-cron-LW", []Edit{Set(schedule, `"0 3 LW * *"`)}, []Want{{25, 16, `Invalid schedule "0 3 LW * *"`, ""}}},
		{"schedule-cron-W", []Edit{Set(schedule, `"0 3 1W * *"`)}, []Want{{25, 16, `Invalid schedule "0 3 1W * *"`, ""}}},
		{"schedule-cron-hash", []Edit{Set(schedule, `"0 3 * * 1#2"`)}, []Want{{25, 16, `Invalid schedule "0 3 * * 1#2"`, ""}}},
		{"schedule-cron-question", []Edit{Set(schedule, `"0 3 ? * *"`)}, []Want{{25, 16, `Invalid schedule "0 3 ? * *"`, ""}}},
		{"schedule-unknown-word", []Edit{Set(schedule, `"0 3 * * MONDAY"`)}, []Want{{25, 16, `Invalid schedule "0 3 * * MONDAY"`, ""}}},
		{"bad-repo-type", []Edit{Delete(repoPath), Set(repo+".type", `"gcs"`)}, []Want{{27, 14, `Invalid repo type "gcs"`, ""}}},
		{"relative-repo-path", []Edit{Set(repoPath, `"backups"`)}, []Want{{27, 14, `Invalid path "backups"`, ""}}},
		{"repo-path-root", []Edit{Set(repoPath, `"/"`)}, []Want{{27, 14, `Invalid path "/"`, ""}}},
		{"repo-path-above-pgdata", []Edit{Set(repoPath, `"/var/lib/postgresql"`)}, []Want{{27, 14, `Invalid path "/var/lib/postgresql"`, ""}}},
		{"repo-path-dot", []Edit{Set(repoPath, `"/var/./lib/pgbackrest"`)}, []Want{{27, 14, `Invalid path "/var/./lib/pgbackrest"`, ""}}},
		{"repo-path-dotdot", []Edit{Set(repoPath, `"/var/lib/../pgbackrest"`)}, []Want{{27, 14, `Invalid path "/var/lib/../pgbackrest"`, ""}}},
		{"repo-path-double-slash", []Edit{Set(repoPath, `"/var//lib/pgbackrest"`)}, []Want{{27, 14, `Invalid path "/var//lib/pgbackrest"`, ""}}},
		{"repo-path-etc-pgbackrest", []Edit{Set(repoPath, `"/etc/pgbackrest"`)}, []Want{{27, 14, `Invalid path "/etc/pgbackrest"`, ""}}},
		{"repo-path-inside-pgdata", []Edit{Set(repoPath, `"/var/lib/postgresql/data/repo"`)}, []Want{{27, 14, `Invalid path "/var/lib/postgresql/data/repo"`, ""}}},
		{"repo-path-pgdata", []Edit{Set(repoPath, `"/var/lib/postgresql/data"`)}, []Want{{27, 14, `Invalid path "/var/lib/postgresql/data"`, ""}}},
		{"repo-path-socket-dir", []Edit{Set(repoPath, `"/var/run/postgresql"`)}, []Want{{27, 14, `Invalid path "/var/run/postgresql"`, ""}}},
		{"repo-path-trailing-slash", []Edit{Set(repoPath, `"/var/lib/pgbackrest/"`)}, []Want{{27, 14, `Invalid path "/var/lib/pgbackrest/"`, ""}}},
		{"posix-with-bucket", []Edit{Delete(repoPath), Set(repo+".type", `"posix"`), Set(repo+".bucket", `"b"`)}, []Want{{28, 16, "Unexpected bucket", ""}}},
		{"s3-missing-region", []Edit{Delete(repoPath), Set(repo+".type", `"s3"`), Set(repo+".bucket", `"b"`), Set(repo+".endpoint", `"s3.example.com"`)},
			[]Want{{26, 5, "Missing region", ""}}},
		{"s3-empty-bucket", []Edit{Delete(repoPath), Set(repo+".type", `"s3"`), Set(repo+".bucket", `""`), Set(repo+".endpoint", `"s3.example.com"`), Set(repo+".region", `"r"`)},
			[]Want{{28, 18, `Invalid bucket ""`, ""}}},
		{"s3-secret-in-file", []Edit{Delete(repoPath), Set(repo+".type", `"s3"`), Set(repo+".bucket", `"b"`), Set(repo+".endpoint", `"s3.example.com"`), Set(repo+".region", `"r"`), Set(repo+".secret_key", `"hunter2"`)},
			[]Want{{31, 7, "Unsupported argument", ""}}},

		// more than one error, and none that parses
		{"many-errors", []Edit{Set("pacemaker.no_quorum_policy", `"panic"`), Set(h2+".address", `"192.0.2.1"`),
			Set("host_group.g.hosts", `["h1", "h2", "h7"]`), Set(cluster+".host_group", `"nope"`), Set(cluster+".port", "8600")},
			[]Want{{6, 22, `Invalid no_quorum_policy "panic"`, ""}, {12, 13, `Duplicate address "192.0.2.1"`, "9,13"},
				{15, 24, `Unknown host "h7"`, ""}, {21, 18, `Unknown host_group "nope"`, ""}, {22, 18, "Invalid port 8600", ""}}},
		{"syntax-error", []Edit{Unclose(h1)}, []Want{{7, 11, "Unclosed configuration block", ""}}},
	}
}
