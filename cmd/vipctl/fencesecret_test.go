package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/internal/testenv"
	"github.com/vipctl/vipctl/internal/topogen"
)

// fenceTopology is a generated topology (stonith disabled) with one fence device of agent
// with params, whose params line is returned too: the keys' line.
func fenceTopology(agent, params string) (src []byte, line int) {
	o := topogen.Options{HostsPerGroup: 2}
	src = topogen.HCL(o)
	line = bytes.Count(src, []byte("\n")) + 4
	src = fmt.Appendf(src, "fence \"f\" {\n  agent = %q\n  host = %q\n  params = { %s }\n}\n", agent, topogen.HostName(o, 0, 0), params)
	return src, line
}

// The commands judge fence parameters by the installed agents' metadata: fence_ipmilan's
// hexadecimal_kg (the IPMI Kg key, a name the pattern alone would miss without its kg rule)
// and password are refused at their key, exit 2, with the hint and nothing written;
// fence_scsi's key (a SCSI reservation key, which the name pattern refuses) renders.
func TestFenceSecretsByInstalledMetadata(t *testing.T) {
	for _, a := range []string{"fence_ipmilan", "fence_apc_snmp", "fence_scsi"} {
		testenv.RequireFile(t, filepath.Join(pcmk.FenceAgentDir, a))
	}
	cases := []struct {
		agent, params string
		want          []string // on stderr; nil: exit 0
	}{
		{"fence_ipmilan", `hexadecimal_kg = "00ff"`, []string{"Secret in params: hexadecimal_kg", "has no script parameter"}},
		{"fence_ipmilan", `password = "hunter2"`, []string{"Secret in params: password", "give password_script instead"}},
		{"fence_apc_snmp", `snmp_priv_passwd = "hunter2"`, []string{"Secret in params: snmp_priv_passwd", "give snmp_priv_passwd_script instead"}},
		{"fence_scsi", `key = "1a2b", devices = "/dev/sdc"`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.agent+" "+tc.params, func(t *testing.T) {
			src, line := fenceTopology(tc.agent, tc.params)
			file := filepath.Join(t.TempDir(), "t.hcl")
			if err := os.WriteFile(file, src, 0o644); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "bundle")
			var stdout, stderr bytes.Buffer
			code := run([]string{"vipctl", "render", "-f", file, "-d", dir}, strings.NewReader(""), &stdout, &stderr)
			if tc.want == nil {
				if code != exitOK {
					t.Fatalf("exit %d; want 0\nstderr:\n%s", code, stderr.String())
				}
				cib, err := os.ReadFile(filepath.Join(dir, "cib.xml"))
				if err != nil || !bytes.Contains(cib, []byte(`name="key" value="1a2b"`)) {
					t.Errorf("cib.xml lacks the device's key (%v):\n%s", err, cib)
				}
				return
			}
			if code != exitUsage || stdout.Len() != 0 {
				t.Errorf("exit %d, stdout %q; want exit 2 and nothing\nstderr:\n%s", code, stdout.String(), stderr.String())
			}
			for _, w := range append(tc.want, fmt.Sprintf("%s:%d,14", file, line)) {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr does not say %q:\n%s", w, stderr.String())
				}
			}
			if strings.Contains(stderr.String(), "hunter2") || strings.Contains(stderr.String(), "00ff") {
				t.Errorf("stderr repeats the secret:\n%s", stderr.String())
			}
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("render wrote %s (stat: %v)", dir, err)
			}
		})
	}
}
