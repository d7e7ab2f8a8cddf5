package status

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/consul/api"

	"github.com/vipctl/vipctl/journal"

	"github.com/vipctl/vipctl/internal/haproxystats"
)

// healthyReport is what collect reports for a sound one-group, one-cluster system seen from
// pg-03, the holder.
func healthyReport() *Report {
	leader := netip.MustParseAddrPort("10.20.0.11:23001")
	return &Report{
		Host:      "pg-03",
		Pacemaker: Pacemaker{DC: "pg-01", Quorate: true, Nodes: nodes(allOnline), Failed: []FailedAction{}},
		Groups: []Group{{
			Name: "db-a", VIP: netip.MustParsePrefix("10.20.0.100/24"), Hosts: []string{"pg-01", "pg-02", "pg-03"},
			Resource: "vip-db-a", Role: "Started", RunningOn: []string{"pg-03"},
			Local:     &LocalVIP{Host: "pg-03", Holder: true, Present: true, Usable: true},
			LastMoves: []journal.Move{{Resource: "vip-db-a", Time: time.Date(2026, 11, 26, 1, 35, 23, 0, time.UTC), From: "pg-01", To: "pg-03", Why: "node pg-01 lost"}},
			Clusters: []Cluster{{
				Name: "msrvc01", Address: netip.MustParseAddrPort("10.20.0.100:5001"), Reach: Reach{OK: true},
				Consul: Consul{Service: "pgsql-msrvc01", Replicas: 3, Healthy: 3, Leaders: []string{"pgsql-msrvc01/pgsql-0"},
					Members: []Member{
						{ID: "pgsql-msrvc01/pgsql-0", Node: "pg-01", Address: leader, Role: RoleLeader, Tags: []string{"master", "primary"}, Health: api.HealthPassing},
						{ID: "pgsql-msrvc01/pgsql-1", Node: "pg-02", Address: netip.MustParseAddrPort("10.20.0.12:23002"), Role: RoleReplica, Tags: []string{"replica"}, Health: api.HealthPassing},
						{ID: "pgsql-msrvc01/pgsql-2", Node: "pg-03", Address: netip.MustParseAddrPort("10.20.0.13:23003"), Role: RoleReplica, Tags: []string{"replica"}, Health: api.HealthPassing},
					}},
				HAProxy: HAProxy{Up: 1, Servers: []Server{{Name: "pg1", Status: "UP"}, {Name: "pg2", Status: "DOWN"}, {Name: "pg3", Status: "DOWN"}}},
			}},
		}},
	}
}

var topologyHosts = []string{"pg-01", "pg-02", "pg-03"}

func TestJudge(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(r *Report)
		want   []Problem
	}{
		{"healthy", func(*Report) {}, []Problem{}},
		{"pacemaker unreachable: local presence is not judged", func(r *Report) {
			r.Pacemaker = Pacemaker{Error: "crm_mon: Not connected (code 102)"}
			r.Groups[0].Role, r.Groups[0].RunningOn = "", []string{}
			r.Groups[0].Local.Holder = false
		}, []Problem{{CompPacemaker, "cluster", CodePacemakerUnreachable, "crm_mon: Not connected (code 102)"}}},
		{"no quorum, a node offline, a host unknown", func(r *Report) {
			r.Pacemaker.Quorate = false
			r.Pacemaker.Nodes = []Node{{"pg-01", NodeOnline}, {"pg-02", NodeOffline}}
		}, []Problem{
			{CompPacemaker, "cluster", CodeNoQuorum, "this partition (DC pg-01) has no quorum: with no-quorum-policy=stop it runs no VIP"},
			{CompPacemaker, "pg-02", CodeNodeNotOnline, "node pg-02 is offline: it cannot take a VIP"},
			{CompPacemaker, "pg-03", CodeNodeUnknown, "host pg-03 of the topology is not a node of this cluster"},
		}},
		{"no DC", func(r *Report) { r.Pacemaker.DC, r.Pacemaker.Quorate = "", false }, []Problem{
			{CompPacemaker, "cluster", CodeNoDC, "no designated controller is elected: this partition decides nothing"},
		}},
		{"failed action", func(r *Report) {
			r.Pacemaker.Failed = []FailedAction{{Resource: "vip-db-a", Operation: "monitor", Node: "pg-02", ExitStatus: "not running", ExitReason: "gone", LastChange: "2026-11-26 01:35:19Z"}}
		}, []Problem{{CompPacemaker, "vip-db-a", CodeFailedAction, "vip-db-a monitor failed on pg-02: not running (gone), at 2026-11-26 01:35:19Z"}}},
		{"no resource", func(r *Report) {
			r.Groups[0].Role, r.Groups[0].RunningOn = "", []string{}
			r.Groups[0].Local.Holder = false
		}, []Problem{
			{CompVIP, "db-a", CodeVIPNoResource, "the cluster has no resource vip-db-a (vipctl cib apply creates it)"},
			{CompVIP, "db-a", CodeVIPStrayHere, "10.20.0.100 is on an interface of pg-03 (this host) but Pacemaker runs vip-db-a on no host"},
		}},
		{"stopped", func(r *Report) {
			r.Groups[0].Role, r.Groups[0].RunningOn = "Stopped", []string{}
			r.Groups[0].Local.Holder, r.Groups[0].Local.Present, r.Groups[0].Local.Usable = false, false, false
		}, []Problem{{CompVIP, "db-a", CodeVIPStopped, "vip-db-a (10.20.0.100) runs nowhere (role Stopped)"}}},
		{"on two hosts, one outside the group", func(r *Report) {
			r.Groups[0].RunningOn = []string{"pg-03", "pg-09"}
		}, []Problem{
			{CompVIP, "db-a", CodeVIPMultiple, "vip-db-a (10.20.0.100) is active on 2 hosts: pg-03, pg-09"},
			{CompVIP, "db-a", CodeVIPOutsideGroup, "vip-db-a is active on pg-09, which is not a host of group db-a (pg-01, pg-02, pg-03)"},
		}},
		{"on an unclean node", func(r *Report) {
			r.Pacemaker.Quorate = false
			r.Pacemaker.Nodes[1].State, r.Pacemaker.Nodes[2].State = NodeUnclean, NodeUnclean
			r.Groups[0].Local = nil
		}, []Problem{
			{CompPacemaker, "cluster", CodeNoQuorum, "this partition (DC pg-01) has no quorum: with no-quorum-policy=stop it runs no VIP"},
			{CompPacemaker, "pg-02", CodeNodeNotOnline, "node pg-02 is unclean: lost and not fenced, it cannot take a VIP"},
			{CompPacemaker, "pg-03", CodeNodeNotOnline, "node pg-03 is unclean: lost and not fenced, it cannot take a VIP"},
			{CompVIP, "db-a", CodeVIPOnLostNode, "vip-db-a is shown on pg-03, which is unclean: Pacemaker cannot know whether that host still holds 10.20.0.100"},
		}},
		{"holder without the address", func(r *Report) {
			r.Groups[0].Local.Present, r.Groups[0].Local.Usable = false, false
		}, []Problem{{CompVIP, "db-a", CodeVIPMissingHere, "Pacemaker runs vip-db-a on pg-03 (this host) but 10.20.0.100 is on none of its interfaces"}}},
		{"holder with a tentative address", func(r *Report) {
			r.Groups[0].Local.Usable = false
		}, []Problem{{CompVIP, "db-a", CodeVIPNotUsableHere, "10.20.0.100 is on pg-03 but not usable (IPv6 duplicate address detection tentative or failed)"}}},
		{"address here on a non-holder", func(r *Report) {
			r.Groups[0].RunningOn = []string{"pg-01"}
			r.Groups[0].Local.Holder = false
		}, []Problem{{CompVIP, "db-a", CodeVIPStrayHere, "10.20.0.100 is on an interface of pg-03 (this host) but Pacemaker runs vip-db-a on pg-01"}}},
		{"netlink failed", func(r *Report) {
			r.Groups[0].Local = &LocalVIP{Host: "pg-03", Holder: true, Error: "netlink: permission denied"}
		}, []Problem{{CompVIP, "db-a", CodeLocalCheckFailed, "could not list the addresses of pg-03: netlink: permission denied"}}},
		{"VIP:port refused", func(r *Report) {
			r.Groups[0].Clusters[0].Reach = Reach{Error: "connection refused"}
		}, []Problem{{CompVIP, "msrvc01", CodeVIPUnreachable, "no TCP connection to 10.20.0.100:5001: connection refused"}}},
		{"two leaders and an extra member", func(r *Report) {
			c := &r.Groups[0].Clusters[0].Consul
			c.Leaders = []string{"pgsql-msrvc01/pgsql-0", "pgsql-msrvc01/pgsql-1"}
			c.Members = append(c.Members, Member{ID: "pgsql-msrvc01/pgsql-3", Health: api.HealthCritical})
		}, []Problem{
			{CompConsul, "msrvc01", CodeMultipleLeaders, "2 healthy members of pgsql-msrvc01 are tagged leader: pgsql-msrvc01/pgsql-0, pgsql-msrvc01/pgsql-1"},
			{CompConsul, "msrvc01", CodeMembersExtra, "4 members of pgsql-msrvc01 are registered, the topology has 3 replicas"},
		}},
		{"a replica too far behind to be promoted", func(r *Report) {
			far, near := int64(MaxFailoverLag+1), int64(MaxFailoverLag)
			c := &r.Groups[0].Clusters[0].Consul
			c.Members[1].LagBytes, c.Members[2].LagBytes = &far, &near
		}, []Problem{{CompConsul, "msrvc01", CodeReplicaLagging, "replica pgsql-msrvc01/pgsql-1 is 1048577 bytes behind the leader: Patroni would not promote it (more than 1048576)"}}},
		{"synchronous mode without a synchronous standby", func(r *Report) {
			r.Groups[0].Clusters[0].Consul.Synchronous = true
		}, []Problem{{CompConsul, "msrvc01", CodeNoSyncStandby, "synchronous mode and the leader's Patroni names no synchronous standby: if the primary failed now, Patroni would wait for it instead of failing over"}}},
		{"synchronous mode with a synchronous standby", func(r *Report) {
			c := &r.Groups[0].Clusters[0].Consul
			c.Synchronous, c.Members[2].SyncStandby = true, true
		}, []Problem{}},
		{"synchronous mode, the leader's Patroni not answering", func(r *Report) {
			c := &r.Groups[0].Clusters[0].Consul
			c.Synchronous, c.LagError = true, "connection refused"
		}, []Problem{}},
		{"HAProxy serves another address than the leader's", func(r *Report) {
			r.Groups[0].Clusters[0].HAProxy.Servers[0].Address = "10.20.0.12:24007"
		}, []Problem{{CompHAProxy, "msrvc01", CodeHAProxyNotLeader, "HAProxy sends clients to pg1 (10.20.0.12:24007), the leader in Consul is at 10.20.0.11:23001"}}},
		{"HAProxy serves the leader's address", func(r *Report) {
			r.Groups[0].Clusters[0].HAProxy.Servers[0].Address = "10.20.0.11:23001"
		}, []Problem{}},
		{"HAProxy unreachable", func(r *Report) {
			r.Groups[0].Clusters[0].HAProxy = HAProxy{URL: "http://10.20.0.100:6001/;csv", Error: "connection refused"}
		}, []Problem{{CompHAProxy, "msrvc01", CodeHAProxyUnreachable, "cannot read http://10.20.0.100:6001/;csv: connection refused"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := healthyReport()
			tc.change(r)
			r.judge(topologyHosts)
			if d := cmp.Diff(tc.want, r.Problems); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
			if r.Healthy != (len(tc.want) == 0) {
				t.Errorf("Healthy = %v with %d problems", r.Healthy, len(r.Problems))
			}
		})
	}
}

// A CSV of HAProxy 2.6 with addresses shown (stats show-legends), a server between states and
// one whose check is running ("* L4CON").
const statsCSV = `# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo
msrvc01,FRONTEND,,,0,0,4096,0,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,0,0,0,,,,,,,,,,,0,0,0,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,tcp,
msrvc01,pg1,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP 1/2,1,1,0,1,0,5,0,,1,2,1,,0,,2,0,,0,L7STS,503,1,,,,,,,,,,,0,0,,,,,-1,HTTP status check returned code <3C>503<3E>,,0,0,0,0,,,,Layer7 wrong status,,1,2,1,,,,10.20.0.11:23001,,tcp,
msrvc01,pg2,0,0,0,0,,0,0,0,,0,,0,0,0,0,"DOWN",1,1,0,1,1,5,5,,1,2,2,,0,,2,0,,0,* L4CON,,0,,,,,,,,,,,0,0,,,,,-1,Connection refused,,0,0,0,0,,,,Layer4 connection problem,,1,2,0,,,,10.20.0.12:23002,,tcp,
msrvc01,BACKEND,0,0,0,0,410,0,0,0,0,0,,0,0,0,0,UP,1,1,0,,0,5,0,,1,2,0,,0,,1,0,,0,,,,,,,,,,,,,,0,0,0,0,0,0,-1,,,0,0,0,0,,,,,,,,,,,,,,tcp,roundrobin
msrvc01-stats,FRONTEND,,,1,1,4096,1,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,3,0,,,,0,1,0,1,,,,0,0,0,0,0,0,,1,1,1,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,http,
`

func TestParseStatsCSV(t *testing.T) {
	got, err := parseStatsCSV(strings.NewReader(statsCSV), "msrvc01")
	if err != nil {
		t.Fatal(err)
	}
	want := []Server{
		{Name: "pg1", Status: "UP 1/2", Address: "10.20.0.11:23001", Check: "L7STS"},
		{Name: "pg2", Status: "DOWN", Address: "10.20.0.12:23002", Check: "L4CON"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("servers (-want +got):\n%s", d)
	}
	if !got[0].IsUp() || got[1].IsUp() {
		t.Errorf("IsUp: %v %v; want true false", got[0].IsUp(), got[1].IsUp())
	}
	if _, err := parseStatsCSV(strings.NewReader(statsCSV), "msrvc02"); !errors.Is(err, haproxystats.ErrNoProxy) {
		t.Error("no error for a proxy the page does not list")
	}
	for _, bad := range []string{"", "<html>stats</html>\n", "# a,b\nx,y\n"} {
		if _, err := parseStatsCSV(strings.NewReader(bad), "msrvc01"); err == nil {
			t.Errorf("no error for %q", bad)
		}
	}
}

// Each crm_mon capture, put in place of a healthy report's Pacemaker view, gives the verdict
// an operator would give it.
func TestJudgeCaptures(t *testing.T) {
	for file, want := range map[string][]string{
		"healthy.xml":        nil,
		"holder-failed.xml":  {"pacemaker/pg-03/node-not-online"},
		"standby.xml":        {"pacemaker/pg-02/node-not-online"},
		"monitor-failed.xml": {"pacemaker/vip-db-a/failed-action"},
		"multiple.xml":       {"vip/db-a/vip-multiple"},
		"no-quorum.xml": {"pacemaker/cluster/no-quorum", "pacemaker/pg-02/node-not-online",
			"pacemaker/pg-03/node-not-online", "vip/db-a/vip-on-lost-node"},
		"stopped.xml": {"pacemaker/cluster/no-quorum", "pacemaker/pg-02/node-unknown",
			"pacemaker/pg-03/node-unknown", "vip/db-a/vip-stopped"},
		"not-connected.xml": {"pacemaker/cluster/pacemaker-unreachable"},
	} {
		t.Run(file, func(t *testing.T) {
			r := healthyReport()
			r.Groups[0].Local = nil
			r.Groups[0].Role, r.Groups[0].RunningOn = "", []string{}
			pm, rs, err := parseCrmMon(readCapture(t, file))
			if err != nil {
				pm = Pacemaker{Error: err.Error()}
			}
			r.Pacemaker = pm
			r.Groups[0].place(rs)
			r.judge(topologyHosts)
			if d := cmp.Diff(want, codes(r)); d != "" {
				t.Errorf("problems (-want +got):\n%s\n%+v", d, r.Problems)
			}
		})
	}
}
