package topology

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/internal/testenv"
)

// testdata/fencemeta holds `fence_X -o metadata` of fence-agents 4.12.1-1 (Debian 12), as
// printed by the installed agents; wantSecrets is, for each, every parameter that carries a
// secret. Everything else the agent lists must not count as one: a false secret refuses a
// topology that is fine (fence_scsi's key is a SCSI reservation key, fence_docker's tlskey a
// path).
var wantSecrets = map[string][]string{
	"fence_ipmilan":  {"hexadecimal_kg", "passwd", "password"},
	"fence_apc_snmp": {"community", "passwd", "password", "snmp_priv_passwd"},
	"fence_aws":      {"access_key", "secret_key"},
	"fence_scsi":     nil,
	"fence_docker":   nil,
}

func readCapturedMetadata(t *testing.T, agent string) []byte {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "fencemeta", agent+".xml"))
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// secretsOf returns the sorted names of the parameters of metadata src that are secrets.
func secretsOf(t *testing.T, src []byte) []string {
	t.Helper()
	params, err := ParseFenceMetadata(src)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for name, p := range params {
		if p.Secret() {
			got = append(got, name)
		}
	}
	slices.Sort(got)
	return got
}

// The parser reads each parameter's name, content type, getopt metavar and English short
// description from a real agent's metadata.
func TestParseFenceMetadata(t *testing.T) {
	params, err := ParseFenceMetadata(readCapturedMetadata(t, "fence_ipmilan"))
	if err != nil {
		t.Fatal(err)
	}
	if len(params) != 41 {
		t.Errorf("fence_ipmilan: %d parameters, want the 41 its metadata lists", len(params))
	}
	want := map[string]FenceParam{
		"password":        {Name: "password", Type: "string", Metavar: "password", ShortDesc: "Login password or passphrase"},
		"password_script": {Name: "password_script", Type: "string", Metavar: "script", ShortDesc: "Script to run to retrieve password"},
		"hexadecimal_kg":  {Name: "hexadecimal_kg", Type: "string", Metavar: "key", ShortDesc: "Hexadecimal-encoded Kg key for IPMIv2 authentication"},
		"lanplus":         {Name: "lanplus", Type: "boolean", ShortDesc: "Use Lanplus to improve security of connection"},
		"auth":            {Name: "auth", Type: "select", Metavar: "auth", ShortDesc: "IPMI Lan Auth type."},
	}
	got := map[string]FenceParam{}
	for name := range want {
		got[name] = params[name]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parameters (-want +got):\n%s", diff)
	}
}

func TestParseFenceMetadataBad(t *testing.T) {
	for _, src := range []string{"", "not xml", "<resource-agent><parameters><parameter name=", "<other/>"} {
		if _, err := ParseFenceMetadata([]byte(src)); err == nil {
			t.Errorf("ParseFenceMetadata(%q): no error", src)
		}
	}
}

// Of each captured agent's parameters exactly wantSecrets are secrets.
func TestFenceParamSecret(t *testing.T) {
	for agent, want := range wantSecrets {
		t.Run(agent, func(t *testing.T) {
			if diff := cmp.Diff(want, secretsOf(t, readCapturedMetadata(t, agent))); diff != "" {
				t.Errorf("secrets (-want +got):\n%s", diff)
			}
		})
	}
}

// The agents installed on this host say the same as the captured metadata (the capture is
// what fence-agents prints, and stays so when the package changes), read through the runner
// the commands use.
func TestInstalledFenceAgentsSecrets(t *testing.T) {
	agents := pcmk.FenceAgents{Runner: pcmk.Local{}}
	for agent, want := range wantSecrets {
		t.Run(agent, func(t *testing.T) {
			testenv.RequireFile(t, filepath.Join(pcmk.FenceAgentDir, agent))
			src, err := agents.Metadata(context.Background(), agent)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, secretsOf(t, src)); diff != "" {
				t.Errorf("secrets of the installed %s (-want +got):\n%s", agent, diff)
			}
		})
	}
}

// capturedAgents serves the captured metadata; other agents are not installed. broken names an
// agent that is installed but whose metadata run fails.
type capturedAgents struct {
	t      *testing.T
	broken string
	asked  []string
}

func (a *capturedAgents) Metadata(ctx context.Context, agent string) ([]byte, error) {
	a.asked = append(a.asked, agent)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if agent == a.broken {
		return nil, errors.New("exit status 1")
	}
	if _, ok := wantSecrets[agent]; !ok {
		return nil, fmt.Errorf("%s: %w", agent, fs.ErrNotExist)
	}
	return readCapturedMetadata(a.t, agent), nil
}

// fenceTopology is a valid topology but for the fence block's agent and params line.
func fenceTopology(agent, params string) string {
	return `corosync {
  cluster_name = "t"
}
pacemaker {
  stonith_enabled = false
}
fence "f-h1" {
  agent  = "` + agent + `"
  host   = "h1"
  params = { ` + params + ` }
}
fence "f2-h1" {
  agent  = "` + agent + `"
  host   = "h1"
}
host "h1" {
  address = "192.0.2.1"
}
host "h2" {
  address = "192.0.2.2"
}
host_group "g" {
  hosts = ["h1", "h2"]
  vip {
    address = "192.0.2.100/24"
  }
}
`
}

// With the agents' metadata, the loader refuses what the agent calls a secret, at its key
// (line 10, the column of the key) and with the agent's script parameter as the hint, accepts
// what the agent says is not one even where the name pattern would refuse it, and judges by
// name the agents it does not have and the parameters the agent does not list.
func TestFenceSecretsFromMetadata(t *testing.T) {
	const keyCol = 14 // params = { KEY ...
	cases := []struct {
		name, agent, params string
		refused             string // the parameter refused; "" accepted
		detail              string // in the detail when refused
		byName              bool   // the pattern, not the metadata, decides
	}{
		{"ipmi password", "fence_ipmilan", `password = "x", ip = "192.0.2.201"`, "password", "give password_script instead", false},
		{"ipmi deprecated passwd", "fence_ipmilan", `passwd = "x"`, "passwd", "give password_script instead", false},
		{"ipmi Kg key", "fence_ipmilan", `hexadecimal_kg = "00ff"`, "hexadecimal_kg", "has no script parameter", false},
		{"snmp privacy password", "fence_apc_snmp", `snmp_priv_passwd = "x"`, "snmp_priv_passwd", "give snmp_priv_passwd_script instead", false},
		{"snmp community", "fence_apc_snmp", `community = "private"`, "community", "has no script parameter", false},
		{"aws access key", "fence_aws", `access_key = "AKIA"`, "access_key", "Access Key", false},
		{"aws secret key", "fence_aws", `secret_key = "x"`, "secret_key", "Secret Key", false},
		{"not listed, by name", "fence_ipmilan", `api_token = "x"`, "api_token", "judged by name", true},
		{"not installed, by name", "fence_gone", `hexadecimal_kg = "00ff"`, "hexadecimal_kg", "judged by name", true},
		{"scsi reservation key", "fence_scsi", `key = "1a2b"`, "", "", false},
		{"scsi key method", "fence_scsi", `key_value = "hash"`, "", "", false},
		{"docker tls key path", "fence_docker", `tlskey = "/etc/pki/key.pem"`, "", "", false},
		{"password script", "fence_ipmilan", `password_script = "/etc/vipctl/ipmi-pass"`, "", "", false},
		{"login", "fence_ipmilan", `username = "admin"`, "", "", false},
		{"auth type", "fence_ipmilan", `auth = "password"`, "", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			agents := &capturedAgents{t: t}
			src := fenceTopology(tc.agent, tc.params)
			top, err := ParseContext(context.Background(), []byte(src), "f.hcl", Options{FenceAgents: agents})
			if !slices.Equal(agents.asked, []string{tc.agent}) {
				t.Errorf("metadata asked for %v; want %s once (two devices use it)", agents.asked, tc.agent)
			}
			if tc.refused == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if len(top.Warnings) != 1 { // stonith_enabled = false
					t.Errorf("warnings %q; want only stonith's", top.Warnings)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) || len(e.Diagnostics) != 1 {
				t.Fatalf("err = %v; want one diagnostic in an *Error matching ErrInvalid", err)
			}
			d := e.Diagnostics[0]
			if d.Summary != "Secret in params: "+tc.refused || d.Subject.Start.Line != 10 || d.Subject.Start.Column != keyCol {
				t.Errorf("diagnostic %q at %d,%d; want %q at 10,%d", d.Summary, d.Subject.Start.Line, d.Subject.Start.Column, "Secret in params: "+tc.refused, keyCol)
			}
			if !strings.Contains(d.Detail, tc.detail) {
				t.Errorf("detail %q; want it to say %q", d.Detail, tc.detail)
			}
			if strings.Contains(d.Detail, `"x"`) || strings.Contains(d.Detail, "00ff") || strings.Contains(d.Detail, "private\"") {
				t.Errorf("detail %q repeats the secret's value", d.Detail)
			}
			// Without metadata (Parse) the name alone decides; it refuses these too.
			if _, err := Parse([]byte(src), "f.hcl"); !errors.Is(err, ErrInvalid) {
				t.Errorf("Parse (by name) accepted %s: %v", tc.params, err)
			}
		})
	}
}

// Where the pattern is stricter than the metadata (fence_scsi's key, fence_docker's tlskey),
// Parse, which reads no metadata, refuses: the documented price of an agent not installed.
func TestFenceSecretsByNameStricter(t *testing.T) {
	for _, params := range []string{`key = "1a2b"`, `tlskey = "/etc/pki/key.pem"`} {
		if _, err := Parse([]byte(fenceTopology("fence_scsi", params)), "f.hcl"); !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse accepted %s: %v", params, err)
		}
	}
}

// An agent whose metadata cannot be read gives a warning at its agent attribute and the name
// pattern decides; the end of the context ends the load with its error, not ErrInvalid.
func TestFenceMetadataUnreadable(t *testing.T) {
	agents := &capturedAgents{t: t, broken: "fence_ipmilan"}
	src := fenceTopology("fence_ipmilan", `hexadecimal_kg = "00ff"`)
	_, err := ParseContext(context.Background(), []byte(src), "f.hcl", Options{FenceAgents: agents})
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("hexadecimal_kg with unreadable metadata: %v; want refused by name", err)
	}
	top, err := ParseContext(context.Background(), []byte(fenceTopology("fence_ipmilan", `ip = "192.0.2.9"`)), "f.hcl", Options{FenceAgents: agents})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(top.Warnings, func(w string) bool {
		return strings.HasPrefix(w, "f.hcl:8,12: fence agent fence_ipmilan: its metadata could not be read")
	}) {
		t.Errorf("warnings %q; want one at f.hcl:8,12 about fence_ipmilan's metadata", top.Warnings)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = ParseContext(ctx, []byte(src), "f.hcl", Options{FenceAgents: &capturedAgents{t: t}})
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrInvalid) {
		t.Errorf("cancelled: %v; want context.Canceled, not ErrInvalid", err)
	}
}
