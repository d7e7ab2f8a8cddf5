package topology

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

// FenceAgents gives a fence agent's own metadata: the XML that `fence_X -o metadata` prints.
// An agent that is not installed is an error matching fs.ErrNotExist. internal/pcmk's
// FenceAgents reads the agents installed on this host.
type FenceAgents interface {
	Metadata(ctx context.Context, agent string) ([]byte, error)
}

// Options are the loader's choices beyond the file itself.
type Options struct {
	// FenceAgents, when set, tells which fence parameters carry secrets from each agent's own
	// metadata. Without it, for an agent it does not have, and for a parameter the agent's
	// metadata does not list, the parameter's name decides (secretPattern).
	FenceAgents FenceAgents
}

// FenceParam is one parameter of a fence agent, as its metadata describes it.
type FenceParam struct {
	Name      string
	Type      string // content type: string, boolean, integer, second, select; "" when absent
	Metavar   string // what the option takes, from getopt: "password" of "-p, --password=[password]"
	ShortDesc string // the English short description
}

// fenceMetadataXML is the part of an agent's metadata the loader reads.
type fenceMetadataXML struct {
	XMLName xml.Name `xml:"resource-agent"`
	Params  []struct {
		Name   string `xml:"name,attr"`
		Getopt struct {
			Mixed string `xml:"mixed,attr"`
		} `xml:"getopt"`
		Content struct {
			Type string `xml:"type,attr"`
		} `xml:"content"`
		ShortDesc []struct {
			Lang string `xml:"lang,attr"`
			Text string `xml:",chardata"`
		} `xml:"shortdesc"`
	} `xml:"parameters>parameter"`
}

// ParseFenceMetadata reads the parameters of a fence agent from its metadata XML, by name.
func ParseFenceMetadata(src []byte) (map[string]FenceParam, error) {
	var m fenceMetadataXML
	if err := xml.Unmarshal(src, &m); err != nil {
		return nil, fmt.Errorf("fence agent metadata: %w", err)
	}
	params := make(map[string]FenceParam, len(m.Params))
	for _, p := range m.Params {
		if p.Name == "" {
			continue
		}
		fp := FenceParam{Name: p.Name, Type: p.Content.Type, Metavar: metavar(p.Getopt.Mixed)}
		for _, d := range p.ShortDesc {
			if fp.ShortDesc == "" || d.Lang == "en" {
				fp.ShortDesc = strings.TrimSpace(d.Text)
			}
		}
		params[p.Name] = fp
	}
	return params, nil
}

// metavar returns what a getopt line says the option takes, lower case, without its brackets:
// "password" of "-p, --password=[password]", "id|hash" of "--key-value=<id|hash>", "" of "--ssl".
func metavar(getopt string) string {
	_, v, ok := strings.Cut(getopt, "=")
	if !ok {
		return ""
	}
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '[' && v[len(v)-1] == ']' || v[0] == '<' && v[len(v)-1] == '>') {
		v = v[1 : len(v)-1]
	}
	return strings.ToLower(v)
}

// Secret reports whether the agent's metadata marks the parameter as carrying a secret. The
// metadata has no such flag, so this reads what the agent says of it: a string parameter whose
// value the agent calls a password, passphrase, secret, token, community, authentication key,
// API key or access key (in its description or getopt's metavar) is one; a parameter that names
// where a secret is (a path, file, script or command: password_script, identity_file, tlskey's
// "Path to client key") is not, nor is a key of SCSI reservations (fence_scsi's key).
func (p FenceParam) Secret() bool {
	if p.Type != "" && p.Type != "string" {
		return false // boolean, integer, second, select: no room for a secret
	}
	desc := strings.ToLower(p.ShortDesc)
	if slices.Contains([]string{"path", "file", "filename", "script", "command"}, p.Metavar) ||
		hasWord(desc, "path", "file", "script", "command") || locationName(p.Name) {
		return false
	}
	if slices.Contains([]string{"password", "pass", "authkey", "token", "community"}, p.Metavar) {
		return true
	}
	for _, w := range []string{"password", "passphrase", "secret", "token", "community", "authentication", "api key", "access key"} {
		if strings.Contains(desc, w) {
			return true
		}
	}
	return false
}

// hasWord reports whether text (lower case) holds one of words as a word of its own.
func hasWord(text string, words ...string) bool {
	fields := strings.FieldsFunc(text, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
	return slices.ContainsFunc(fields, func(f string) bool { return slices.Contains(words, f) })
}

// secretPattern describes the fence parameter names taken as secrets when no metadata decides
// (docs/topology.md).
const secretPattern = "a name containing pass, secret, token, community or key, or a word kg (any case), unless it ends in _script, _file, _path or is a _user/_login name"

// locationName reports whether a parameter name says it holds where a secret is, or a user
// name, rather than a secret: password_script, identity_file, ssh_path, snmp_user.
func locationName(name string) bool {
	n := strings.ToLower(name)
	for _, suffix := range []string{"_script", "_file", "_path", "_user", "_login", "_username"} {
		if strings.HasSuffix(n, suffix) {
			return true
		}
	}
	return false
}

// secretName reports whether a fence parameter name carries a secret by the documented
// pattern: passwords (password, passwd, snmp_priv_passwd, …), secret keys, tokens, SNMP
// communities, keys, IPMI's Kg key (hexadecimal_kg).
func secretName(name string) bool {
	if locationName(name) {
		return false
	}
	n := strings.ToLower(name)
	for _, part := range []string{"pass", "secret", "token", "community", "key"} {
		if strings.Contains(n, part) {
			return true
		}
	}
	return slices.Contains(strings.FieldsFunc(n, func(r rune) bool { return r == '_' || r == '-' }), "kg")
}

// fenceMeta is what the loader knows of the fence agents a topology names: each agent's
// parameters, for the agents whose metadata was read.
type fenceMeta map[string]map[string]FenceParam

// readFenceMeta reads the metadata of every agent the fences name, once each. An agent that is
// not installed is left to the name pattern silently; one whose metadata cannot be run or read
// is left to it with a warning. Only the end of ctx is an error.
func readFenceMeta(ctx context.Context, agents FenceAgents, p *parsed) (fenceMeta, []string, error) {
	if agents == nil {
		return nil, nil, nil
	}
	meta := fenceMeta{}
	var warnings []string
	tried := map[string]bool{}
	for i, f := range p.t.Fences {
		if f.Agent == "" || tried[f.Agent] {
			continue
		}
		tried[f.Agent] = true
		src, err := agents.Metadata(ctx, f.Agent)
		if err == nil {
			var params map[string]FenceParam
			if params, err = ParseFenceMetadata(src); err == nil {
				meta[f.Agent] = params
				continue
			}
		}
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("fence agent %s metadata: %w", f.Agent, context.Cause(ctx))
		}
		if !errors.Is(err, fs.ErrNotExist) {
			warnings = append(warnings, fmt.Sprintf("%s: fence agent %s: its metadata could not be read (%v); its parameters are judged secret by name alone",
				at(p.fences[i].at("agent")), f.Agent, err))
		}
	}
	return meta, warnings, nil
}

// secret reports whether the fence parameter name of agent carries a secret. The agent's
// metadata decides the parameters it lists (listed is then true, with p its description, and
// instead the agent's parameter to give in its place when it has one: password_script for
// passwd, name_script for the rest); the name pattern decides the others.
func (m fenceMeta) secret(agent, name string) (secret, listed bool, p FenceParam, instead string) {
	params := m[agent]
	p, listed = params[name]
	if !listed {
		return secretName(name), false, p, ""
	}
	if !p.Secret() {
		return false, true, p, ""
	}
	for _, s := range []string{strings.Replace(name, "passwd", "password", 1) + "_script", name + "_script"} {
		if q, ok := params[s]; ok && q.Type != "boolean" {
			return true, true, p, s
		}
	}
	return true, true, p, ""
}
