package lab

import (
	"context"
	"net/netip"
	"slices"

	"github.com/vipctl/vipctl/internal/pcmk"
)

// Report is the lab's state as `lab status` shows it.
type Report struct {
	Hosts     []HostReport `json:"hosts"`
	VIPs      []VIPReport  `json:"vips"`
	Partition [][]string   `json:"partition,omitempty"` // the sets the switch is cut into
}

// HostReport is one host: its processes, its link, and the cluster as it sees it.
type HostReport struct {
	Name      string       `json:"name"`
	Address   netip.Prefix `json:"address"`
	Running   bool         `json:"running"`   // its supervisor is alive
	Processes int          `json:"processes"` // processes in the host
	PowerOff  bool         `json:"power_off,omitempty"`
	LinkUp    bool         `json:"link_up"`        // its interface has carrier
	Dead      []string     `json:"dead,omitempty"` // cluster daemons that should run and do not (lab heal starts them)
	Cluster   *pcmk.Status `json:"cluster,omitempty"`
	Error     string       `json:"error,omitempty"` // why Cluster is missing
}

// VIPReport says who holds one group's VIP: on the wire (netlink, every host) and for Pacemaker.
type VIPReport struct {
	Group     string       `json:"group"`
	VIP       netip.Prefix `json:"vip"`
	Holders   []string     `json:"holders"`   // hosts that have the address
	Pacemaker []string     `json:"pacemaker"` // where a quorate partition's crm_mon says it runs
}

// Status reports every host and every VIP of the lab.
func (l *Lab) Status(ctx context.Context) (Report, error) {
	l.reload()
	r := Report{Partition: l.state.Partition}
	var quorate *pcmk.Status
	for i := range l.state.Hosts {
		hs := &l.state.Hosts[i]
		hr := HostReport{Name: hs.Name, Address: hs.Address, PowerOff: hs.PowerOff}
		hr.LinkUp, _ = linkUp(hs.NetNS, hs.NIC)
		if h, err := l.host(hs); err == nil {
			hr.Running = true
			hr.Processes = len(h.Pids())
			hr.Dead = h.Dead()
			st, err := h.Status(ctx)
			if err != nil {
				hr.Error = err.Error()
			} else {
				hr.Cluster = &st
				if st.Quorate && quorate == nil {
					quorate = &st
				}
			}
		} else if !hs.PowerOff {
			hr.Error = err.Error()
		}
		r.Hosts = append(r.Hosts, hr)
	}
	for _, g := range l.topo.Groups {
		holders, err := l.Holders(g.Name)
		if err != nil {
			return r, err
		}
		vr := VIPReport{Group: g.Name, VIP: g.VIP.Prefix, Holders: holders}
		if quorate != nil {
			i := slices.IndexFunc(quorate.Resources, func(res pcmk.Resource) bool { return res.ID == g.VIPID() })
			if i >= 0 {
				vr.Pacemaker = quorate.Resources[i].Nodes
			}
		}
		r.VIPs = append(r.VIPs, vr)
	}
	return r, nil
}
