package status

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/consul/api"

	"github.com/vipctl/vipctl/journal"
)

// netipCmp compares net/netip values as values.
var netipCmp = cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}, netip.AddrPort{})

var update = flag.Bool("update", false, "rewrite the golden files of testdata/report")

// degradedReport is a system with a problem in each component, seen from pg-02.
func degradedReport() *Report {
	r := healthyReport()
	r.Host = "pg-02"
	r.ConsulAddress = "127.0.0.1:8500"
	r.Pacemaker.Nodes[2].State = NodeOffline
	r.Pacemaker.Failed = []FailedAction{{Resource: "vip-db-a", Operation: "monitor", Node: "pg-03", ExitStatus: "not running", LastChange: "2026-11-26 01:35:19Z"}}
	g := &r.Groups[0]
	g.RunningOn = []string{"pg-01"}
	g.Local = &LocalVIP{Host: "pg-02", Present: true, Usable: true}
	c := &g.Clusters[0]
	c.Reach = Reach{Error: "dial tcp 10.20.0.100:5001: connect: connection refused"}
	c.Consul.Leaders = []string{}
	c.Consul.Healthy = 2
	c.Consul.Members[0].Role, c.Consul.Members[0].Tags = RoleReplica, []string{"replica"}
	c.Consul.Members[1].Health = api.HealthCritical
	c.HAProxy = HAProxy{URL: "http://10.20.0.100:6001/;csv", Servers: []Server{
		{Name: "pg1", Status: "MAINT (resolution)"}, {Name: "pg2", Status: "MAINT (resolution)"}, {Name: "pg3", Status: "MAINT (resolution)"},
	}}
	r.judge(topologyHosts)
	return r
}

func unreachableReport() *Report {
	r := &Report{ConsulAddress: "127.0.0.1:8500",
		Pacemaker: Pacemaker{Error: "crm_mon: Not connected (code 102)", Nodes: []Node{}, Failed: []FailedAction{}},
		Groups: []Group{{Name: "db-a", VIP: healthyReport().Groups[0].VIP, Hosts: []string{"pg-01", "pg-02", "pg-03"}, Resource: "vip-db-a", RunningOn: []string{}, LastMoves: []journal.Move{},
			Clusters: []Cluster{{Name: "msrvc01", Address: healthyReport().Groups[0].Clusters[0].Address,
				Reach:   Reach{Error: "no answer: context deadline exceeded"},
				Consul:  Consul{Service: "pgsql-msrvc01", Replicas: 3, Error: "connection refused", Leaders: []string{}, Members: []Member{}},
				HAProxy: HAProxy{URL: "http://10.20.0.100:6001/;csv", Error: "no answer: context deadline exceeded", Servers: []Server{}},
			}}}},
	}
	r.JournalError = "journal: open /var/lib/vipctl/events.jsonl: permission denied"
	r.judge(topologyHosts)
	return r
}

// The text and JSON forms of three reports match their golden files, and writing again
// gives the same bytes. The JSON golden files pin the documented field names.
func TestWriteGolden(t *testing.T) {
	healthy := healthyReport()
	healthy.ConsulAddress = "127.0.0.1:8500"
	healthy.judge(topologyHosts)
	for name, r := range map[string]*Report{"healthy": healthy, "degraded": degradedReport(), "unreachable": unreachableReport()} {
		for ext, write := range map[string]func(*bytes.Buffer, *Report) error{
			"txt":  func(b *bytes.Buffer, r *Report) error { return WriteText(b, r) },
			"json": func(b *bytes.Buffer, r *Report) error { return WriteJSON(b, r) },
		} {
			t.Run(name+"."+ext, func(t *testing.T) {
				var b, again bytes.Buffer
				if err := write(&b, r); err != nil {
					t.Fatal(err)
				}
				if err := write(&again, r); err != nil || !bytes.Equal(b.Bytes(), again.Bytes()) {
					t.Errorf("writing again gave other bytes (err %v)", err)
				}
				golden := filepath.Join("testdata", "report", name+"."+ext+".golden")
				if *update {
					if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(string(want), b.String()); d != "" {
					t.Errorf("%s (-want +got):\n%s", golden, d)
				}
				if ext == "json" { // and it reads back into the same report
					var back Report
					if err := json.Unmarshal(b.Bytes(), &back); err != nil {
						t.Fatal(err)
					}
					if d := cmp.Diff(r, &back, netipCmp); d != "" {
						t.Errorf("JSON round trip (-want +got):\n%s", d)
					}
				}
			})
		}
	}
}
