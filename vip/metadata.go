package vip

import (
	"io"
	"strings"
)

// Version is the agent's version in its meta-data.
const Version = "1.0"

// actions are the actions advertised in meta-data, with their default timeouts.
var actions = []action{
	{"start", "20s", ""},
	{"stop", "20s", ""},
	{"monitor", "20s", "10s"},
	{"meta-data", "5s", ""},
	{"validate-all", "20s", ""},
}

// textEscaper escapes the agent's own descriptions, which are element text.
var textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")

// vipLongdesc and vipShortdesc describe ocf:vipctl:vip in its meta-data.
const (
	vipLongdesc = `Manages a virtual IP address (IPv4 or IPv6) with netlink from one process, without forking
ip or arping. Start adds the address (after an ARP duplicate probe for IPv4, and the kernel's
duplicate address detection for IPv6) and announces it with gratuitous ARP or unsolicited
neighbour advertisements; stop removes the address from whatever interface holds it, even
when the link is down; monitor checks that the address is on the expected interface and that
the link is up. A condition of this host alone never returns OCF_ERR_CONFIGURED.`
	vipShortdesc = "Virtual IP address managed through netlink"
)

// action is an action advertised in meta-data, with its default timeout (and interval).
type action struct{ name, timeout, interval string }

// WriteMetadata writes the agent's OCF meta-data: valid under ra-api-1.dtd and metadata.rng.
func WriteMetadata(w io.Writer) error {
	return writeMetadata(w, "vip", vipLongdesc, vipShortdesc, params, actions)
}

// writeMetadata writes the OCF meta-data of one of vipctl's agents.
func writeMetadata(w io.Writer, name, long, short string, ps []param, as []action) error {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?>
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
<resource-agent name="` + name + `" version="` + Version + `">
<version>1.0</version>
<longdesc lang="en">
` + textEscaper.Replace(long) + `
</longdesc>
<shortdesc lang="en">` + textEscaper.Replace(short) + `</shortdesc>
<parameters>
`)
	for _, p := range ps {
		b.WriteString(`<parameter name="` + p.name + `" unique="` + bit(p.unique) + `" required="` + bit(p.required) + `">
<longdesc lang="en">` + xmlEscaper.Replace(p.long) + `</longdesc>
<shortdesc lang="en">` + xmlEscaper.Replace(p.short) + `</shortdesc>
<content type="` + p.typ + `" default="` + xmlEscaper.Replace(p.def) + `"/>
</parameter>
`)
	}
	b.WriteString("</parameters>\n<actions>\n")
	for _, a := range as {
		b.WriteString(`<action name="` + a.name + `" timeout="` + a.timeout + `"`)
		if a.interval != "" {
			b.WriteString(` interval="` + a.interval + `" depth="0"`)
		}
		b.WriteString("/>\n")
	}
	b.WriteString("</actions>\n</resource-agent>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func bit(v bool) string {
	if v {
		return "1"
	}
	return "0"
}
