package lab

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/vipctl/vipctl/topology"
)

// DefaultDir is where the lab keeps its state (host directories, the topology it runs, state.json).
const DefaultDir = "/run/vipctl-lab"

// Prefix starts the name of every network namespace the lab in DefaultDir creates; a lab in
// another state directory uses NamespacePrefix(dir), so two labs can run side by side.
const Prefix = "vipctl-lab-"

// Namespaces and links of the lab's switch and client.
const (
	switchName  = "switch" // after the prefix: holds the bridges that join the hosts
	clientName  = "client" // after the prefix: the lab's client
	mainBridge  = "br0"
	clientNIC   = "eth0"
	clientPort  = "client"
	stateFile   = "state.json"
	topoFile    = "vipctl.hcl"
	hostsSubdir = "hosts"
)

// ClientNetNS is the client of the lab in DefaultDir: a network namespace on the same bridge
// as the hosts, with an address in every VIP's subnet (`ip netns exec vipctl-lab-client ...`).
const ClientNetNS = Prefix + clientName

// NamespacePrefix returns the prefix of every network namespace of the lab whose state lives
// in dir: Prefix for DefaultDir, else "vipctl-lab" and six hex digits of the directory's hash.
// No such prefix starts with another, so one lab's down never touches another's namespaces.
func NamespacePrefix(dir string) string {
	dir = filepath.Clean(dir)
	if dir == DefaultDir {
		return Prefix
	}
	sum := sha256.Sum256([]byte(dir))
	return "vipctl-lab" + hex.EncodeToString(sum[:3]) + "-"
}

// ErrNotUp is returned when there is no lab (lab up first).
var ErrNotUp = errors.New("lab: no lab is up")

// ErrUp is returned by Up when a lab is already up (lab down first).
var ErrUp = errors.New("lab: a lab is already up")

// State is what the lab records in DefaultDir/state.json.
type State struct {
	Prefix    string      `json:"prefix"`          // of every network namespace (NamespacePrefix)
	Topology  string      `json:"topology"`        // the topology file the lab runs
	Stack     bool        `json:"stack,omitempty"` // Consul, Patroni + PostgreSQL and HAProxy run too
	Fresh     bool        `json:"fresh,omitempty"` // hosts as new machines: bootstrap makes the cluster
	Vipctl    string      `json:"vipctl"`          // the vipctl binary (listeners, the BMC, the fence agent)
	BMC       int         `json:"bmc,omitempty"`   // the pid of the lab's BMC (ServeBMC)
	Hosts     []HostState `json:"hosts"`
	Client    ClientState `json:"client"`
	Partition [][]string  `json:"partition,omitempty"` // the sets cut apart; nil when whole
	Created   []string    `json:"created"`             // every network namespace made, in order
}

// HostState is one lab host.
type HostState struct {
	Name     string       `json:"name"`
	NetNS    string       `json:"netns"`
	NIC      string       `json:"nic"`  // the host's interface (inside NetNS)
	Port     string       `json:"port"` // the bridge's end of the host's link (inside the switch namespace)
	Address  netip.Prefix `json:"address"`
	Pid      int          `json:"pid"` // pcmkhost supervisor; 0 while powered off
	PowerOff bool         `json:"power_off,omitempty"`
	LinkDown bool         `json:"link_down,omitempty"`
	// Link1 is the host's second Corosync link, on its own bridge, when the topology names one.
	Link1 *LinkState `json:"link1,omitempty"`
}

// LinkState is a host's second link: its interface, the bridge's end and its address.
type LinkState struct {
	NIC     string       `json:"nic"`
	Port    string       `json:"port"`
	Address netip.Prefix `json:"address"`
	Down    bool         `json:"down,omitempty"`
}

// ClientState is the lab's client namespace.
type ClientState struct {
	NetNS     string         `json:"netns"`
	Addresses []netip.Prefix `json:"addresses"`
}

func readState(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w (%s has no %s)", ErrNotUp, dir, stateFile)
	}
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("lab: %s: %w", filepath.Join(dir, stateFile), err)
	}
	return &s, nil
}

func writeState(dir string, s *State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	tmp := filepath.Join(dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, stateFile)); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	return nil
}

func (s *State) host(name string) (*HostState, error) {
	for i := range s.Hosts {
		if s.Hosts[i].Name == name {
			return &s.Hosts[i], nil
		}
	}
	names := make([]string, len(s.Hosts))
	for i, h := range s.Hosts {
		names[i] = h.Name
	}
	return nil, fmt.Errorf("lab: %w %q: the lab has %s", topology.ErrUnknownHost, name, strings.Join(names, ", "))
}

// switchNS is the namespace of the lab's switch.
func (s *State) switchNS() string { return s.Prefix + switchName }
