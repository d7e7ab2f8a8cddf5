package fakeconsul

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/consul/api"
)

// Server is a fake Consul agent. It serves GET /v1/health/service/<name> (with the tag and
// passing filters) as Consul does, from the entries set with SetService, and answers
// every other path with 404. Its zero value is not usable: call New or Serve.
type Server struct {
	mu       sync.Mutex
	services map[string][]*api.ServiceEntry
	fail     int    // when non-zero, every request gets this status
	failMsg  string // and this body
	requests []string
	srv      *httptest.Server
}

// New starts a fake Consul on a loopback port; it stops when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return Serve(t, l)
}

// Serve runs a fake Consul on l (for example a listener opened inside another network
// namespace); it stops when the test ends.
func Serve(t testing.TB, l net.Listener) *Server {
	t.Helper()
	s := &Server{services: map[string][]*api.ServiceEntry{}}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.handle))
	s.srv.Listener.Close()
	s.srv.Listener = l
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	return s
}

// Addr returns host:port of the fake agent, as CONSUL_HTTP_ADDR takes it.
func (s *Server) Addr() string { return s.srv.Listener.Addr().String() }

// SetService replaces the registered instances of a service.
func (s *Server) SetService(name string, entries ...*api.ServiceEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.services[name] = entries
}

// Fail makes every later request answer with status and msg (as Consul does with 500
// "No cluster leader"); a status of 0 ends that.
func (s *Server) Fail(status int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail, s.failMsg = status, msg
}

// Requests returns the paths requested so far, with their query strings.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.URL.RequestURI())
	if s.fail != 0 {
		http.Error(w, s.failMsg, s.fail)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, "/v1/health/service/")
	if r.Method != http.MethodGet || !ok || name == "" {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	tags := q["tag"]
	_, passing := q[api.HealthPassing]
	out := []*api.ServiceEntry{}
	for _, e := range s.services[name] {
		if !slices.ContainsFunc(tags, func(t string) bool { return !slices.Contains(e.Service.Tags, t) }) &&
			(!passing || e.Checks.AggregatedStatus() == api.HealthPassing) {
			out = append(out, e)
		}
	}
	// The headers every Consul read carries; consul/api parses them.
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Consul-Index", "1")
	w.Header().Set("X-Consul-LastContact", "0")
	w.Header().Set("X-Consul-KnownLeader", "true")
	_ = json.NewEncoder(w).Encode(out)
}

// Member is one Patroni member as Patroni registers it (consul.register_service): service
// <scope> with ID <scope>/<name>, at the member's PostgreSQL connect address, tagged with its
// role, and one check in the given status (api.HealthPassing, HealthWarning, HealthCritical).
type Member struct {
	Scope   string // the service name: pgsql-<cluster>
	Name    string // the Patroni member name, e.g. pgsql-0
	Node    string // the Consul node (host) it registered through
	Address string // IP of its connect address
	Port    int
	Tags    []string // e.g. ["master", "primary"] or ["replica"]
	Status  string
}

// Entry returns the health entry Consul would return for m.
func (m Member) Entry() *api.ServiceEntry {
	id := m.Scope + "/" + m.Name
	return &api.ServiceEntry{
		Node:    &api.Node{Node: m.Node, Address: m.Address, Datacenter: "dc1"},
		Service: &api.AgentService{ID: id, Service: m.Scope, Tags: m.Tags, Address: m.Address, Port: m.Port},
		Checks: api.HealthChecks{
			{Node: m.Node, CheckID: "serfHealth", Name: "Serf Health Status", Status: api.HealthPassing},
			{Node: m.Node, CheckID: "service:" + id, Name: "Service '" + m.Scope + "' check", Status: m.Status, ServiceID: id, ServiceName: m.Scope},
		},
	}
}
