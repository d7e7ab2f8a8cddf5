package haproxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/vipctl/vipctl/internal/bundletest"
	"github.com/vipctl/vipctl/internal/syncbuf"
	"github.com/vipctl/vipctl/internal/testenv"
)

// fakeConsulDNS answers like Consul DNS for the leader tag of one service: the SRV record of
// the member tagged leader (target m<n>.addr.dc1.consul. with its A record in the additional
// section), and A records of targets.
type fakeConsulDNS struct {
	service string // "_pgsql-x._master.service.consul."
	members []netip.AddrPort
	leader  *atomic.Int32 // index of the member tagged leader
}

func (f *fakeConsulDNS) target(i int) string { return fmt.Sprintf("m%d.addr.dc1.consul.", i) }

func (f *fakeConsulDNS) answer(req []byte) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(req)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	name := strings.ToLower(q.Name.String())
	a := func(i int) (dnsmessage.ResourceHeader, dnsmessage.AResource) {
		return dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(f.target(i)), Class: dnsmessage.ClassINET, TTL: 0},
			dnsmessage.AResource{A: f.members[i].Addr().As4()}
	}
	switch {
	case q.Type == dnsmessage.TypeSRV && name == f.service:
		i := int(f.leader.Load())
		hdr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 0}
		srv := dnsmessage.SRVResource{Priority: 1, Weight: 1, Port: f.members[i].Port(), Target: dnsmessage.MustNewName(f.target(i))}
		if err := b.SRVResource(hdr, srv); err != nil {
			return nil, err
		}
		if err := b.StartAdditionals(); err != nil {
			return nil, err
		}
		if err := b.AResource(a(i)); err != nil {
			return nil, err
		}
	case q.Type == dnsmessage.TypeA:
		for i := range f.members {
			if name == f.target(i) {
				if err := b.AResource(a(i)); err != nil {
					return nil, err
				}
			}
		}
	}
	return b.Finish()
}

func (f *fakeConsulDNS) serve(t *testing.T) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 8192)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp, err := f.answer(buf[:n]); err == nil {
				_, _ = pc.WriteTo(resp, from)
			}
		}
	}()
	return netip.MustParseAddrPort(pc.LocalAddr().String())
}

// fakeMember is one Patroni member on its own loopback address: a REST API answering /primary
// (200 on the leader, 503 otherwise) and a "PostgreSQL" that greets with the member's name.
type fakeMember struct {
	index  int32
	leader *atomic.Int32 // index of the current leader
}

func (m *fakeMember) start(t *testing.T, addr netip.Addr, patroniPort int) netip.AddrPort {
	t.Helper()
	api, err := net.Listen("tcp", netip.AddrPortFrom(addr, uint16(patroniPort)).String())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/primary" && m.leader.Load() == m.index {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	})}
	go func() { _ = srv.Serve(api) }()
	t.Cleanup(func() { srv.Close() })

	pg, err := net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	go func() {
		for {
			c, err := pg.Accept()
			if err != nil {
				return
			}
			_, _ = fmt.Fprintf(c, "pgsql-%d\n", m.index)
			_ = c.Close()
		}
	}()
	return netip.MustParseAddrPort(pg.Addr().String())
}

func hxFreePort(t *testing.T, addr string) int {
	t.Helper()
	l, err := net.Listen("tcp", addr+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestHAProxyFollowsTheLeader runs the generated configuration in a real HAProxy, on loopback
// only: three members on 127.0.0.2-4 behind a fake Consul DNS that lists the member tagged
// leader, whose Patroni alone answers /primary with 200. From HAProxy's start on, no connection
// reaches a replica; after a failover (tag and REST API move to another member) connections
// reach the new leader, and once the old one failed its checks, never the old one again.
func TestHAProxyFollowsTheLeader(t *testing.T) {
	haproxy := testenv.RequireTool(t, "haproxy")
	t.Parallel()
	tp := bundletest.Example(t)
	c := tp.Clusters[0]

	var leader atomic.Int32
	leader.Store(1)
	c.PatroniPort = hxFreePort(t, "127.0.0.2")
	dns := &fakeConsulDNS{service: SRVName(c) + ".", leader: &leader}
	for i := range int32(3) {
		m := &fakeMember{index: i, leader: &leader}
		dns.members = append(dns.members, m.start(t, netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + i)}), c.PatroniPort))
	}
	tp.Consul.DNS = dns.serve(t).String()
	c.Port = hxFreePort(t, "127.0.0.1")
	c.StatsPort = hxFreePort(t, "127.0.0.1")

	cfg, err := Config(tp, c)
	if err != nil {
		t.Fatal(err)
	}
	// Bind on loopback only (the rendered config binds every address of the host).
	local := strings.ReplaceAll(string(cfg), "bind *:", "bind 127.0.0.1:")
	p := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(p, []byte(local), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, haproxy, "-db", "-f", p)
	var logs syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})

	front := net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port))
	// waitFor connects until the backend greeting is want; every greeting before must be one of
	// allowed (a refused or reset connection is fine: HAProxy has no server yet).
	waitFor := func(want string, allowed ...string) {
		t.Helper()
		var last string
		for ctx.Err() == nil {
			got, err := greet(front)
			if err == nil && got == want {
				return
			}
			if err == nil && got != "" && !slices.Contains(allowed, got) {
				t.Fatalf("a connection reached %s, want %s\nhaproxy:\n%s", got, want, logs.String())
			}
			last = fmt.Sprintf("%q %v", got, err)
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("never reached %s through HAProxy (last: %s)\nhaproxy:\n%s", want, last, logs.String())
	}
	waitFor("pgsql-1")
	for range 20 {
		if got, err := greet(front); err != nil || got != "pgsql-1" {
			t.Fatalf("a connection got %q (%v), want the leader pgsql-1\nhaproxy:\n%s", got, err, logs.String())
		}
	}
	// Failover: the tag moves in Consul and the old leader's Patroni answers 503. The new
	// leader is a server as soon as HAProxy resolves again; the old one stays one until its
	// check has failed fall (3) times, and then for good.
	leader.Store(2)
	for n := 0; n < 10; {
		waitFor("pgsql-2", "pgsql-1")
		n++
		if got, err := greet(front); err != nil || got != "pgsql-2" {
			n = 0
		}
	}
	for range 20 {
		if got, err := greet(front); err != nil || got != "pgsql-2" {
			t.Fatalf("after the failover a connection got %q (%v)\nhaproxy:\n%s", got, err, logs.String())
		}
	}
}

// greet connects and reads the first line the backend sends.
func greet(addr string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(2 * time.Second)); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return strings.TrimSpace(line), err
	}
	return strings.TrimSpace(line), nil
}
