package lab

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/vipctl/vipctl/internal/pcmk"
)

// TestWriteTextNamesDeadDaemons: a host whose pacemakerd is dead says so on its line, before
// the cluster as it sees it; a healthy host's line does not.
func TestWriteTextNamesDeadDaemons(t *testing.T) {
	r := Report{Hosts: []HostReport{
		{Name: "lab-1", Address: netip.MustParsePrefix("192.0.2.11/24"), Running: true, Processes: 9, LinkUp: true,
			Cluster: &pcmk.Status{DC: "lab-2", Quorate: true, Online: []string{"lab-1", "lab-2"}}},
		{Name: "lab-2", Address: netip.MustParsePrefix("192.0.2.12/24"), Running: true, Processes: 8, LinkUp: true,
			Dead: []string{"pacemakerd"}, Cluster: &pcmk.Status{DC: "lab-2", Quorate: true, Online: []string{"lab-1", "lab-2"}}},
		{Name: "lab-3", Address: netip.MustParsePrefix("192.0.2.13/24"), Running: true, Processes: 2, LinkUp: true,
			Dead: []string{"corosync", "pacemakerd"}, Error: "crm_mon: exit status 102"},
	}}
	var b bytes.Buffer
	if err := WriteText(&b, r); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	for i, want := range map[int]string{
		1: "quorate, DC lab-2, online lab-1,lab-2",
		2: "pacemakerd dead (lab heal starts it); quorate, DC lab-2",
		3: "corosync and pacemakerd dead (lab heal starts it); crm_mon: exit status 102",
	} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d = %q; want it to contain %q", i, lines[i], want)
		}
	}
	if strings.Contains(lines[1], "dead") {
		t.Errorf("healthy host's line names a dead daemon: %q", lines[1])
	}
}
