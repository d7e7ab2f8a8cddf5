package backup_test

import (
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/topology"
)

// fakeS3 is an in-memory S3 bucket speaking the path-style REST calls pgbackrest makes
// (list v2, head, get, put, multipart upload, delete, multi-object delete). It does not check
// signatures; it records the access keys that signed requests.
type fakeS3 struct {
	bucket string

	mu      sync.Mutex
	objects map[string]s3Object
	uploads map[string]map[int][]byte
	keys    map[string]bool // access key ids seen in Authorization headers
	odd     []string        // requests it did not understand
	nextID  int
}

type s3Object struct {
	data     []byte
	modified time.Time
}

func newFakeS3(t *testing.T, bucket string) (*fakeS3, *httptest.Server) {
	s := &fakeS3{bucket: bucket, objects: map[string]s3Object{}, uploads: map[string]map[int][]byte{}, keys: map[string]bool{}}
	srv := httptest.NewTLSServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

func (s *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential="); ok {
		id, _, _ := strings.Cut(cred, "/")
		s.keys[id] = true
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if bucket != s.bucket {
		s.fail(w, r, http.StatusNotFound, "NoSuchBucket")
		return
	}
	q := r.URL.Query()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "IncompleteBody")
		return
	}
	switch {
	case r.Method == http.MethodGet && key == "" && q.Get("list-type") == "2":
		s.list(w, q)
	case r.Method == http.MethodPost && key == "" && q.Has("delete"):
		var req struct {
			Objects []struct{ Key string } `xml:"Object"`
		}
		if err := xml.Unmarshal(body, &req); err != nil {
			s.fail(w, r, http.StatusBadRequest, "MalformedXML")
			return
		}
		for _, o := range req.Objects {
			delete(s.objects, o.Key)
		}
		writeXML(w, struct {
			XMLName xml.Name `xml:"DeleteResult"`
		}{})
	case key == "":
		s.fail(w, r, http.StatusNotImplemented, "NotImplemented")
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && len(q) == 0:
		o, ok := s.objects[key]
		if !ok {
			s.fail(w, r, http.StatusNotFound, "NoSuchKey")
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(o.data)))
		w.Header().Set("Last-Modified", o.modified.Format(http.TimeFormat))
		w.Header().Set("ETag", `"`+strconv.Itoa(len(o.data))+`"`)
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			w.Write(o.data)
		}
	case r.Method == http.MethodPut && q.Has("partNumber") && q.Has("uploadId"):
		parts, ok := s.uploads[q.Get("uploadId")]
		n, err := strconv.Atoi(q.Get("partNumber"))
		if !ok || err != nil {
			s.fail(w, r, http.StatusNotFound, "NoSuchUpload")
			return
		}
		parts[n] = body
		w.Header().Set("ETag", fmt.Sprintf(`"part-%d"`, n))
	case r.Method == http.MethodPut && len(q) == 0:
		s.objects[key] = s3Object{data: body, modified: time.Now().UTC()}
		w.Header().Set("ETag", `"`+strconv.Itoa(len(body))+`"`)
	case r.Method == http.MethodPost && q.Has("uploads"):
		s.nextID++
		id := fmt.Sprintf("upload-%d", s.nextID)
		s.uploads[id] = map[int][]byte{}
		writeXML(w, struct {
			XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
			Bucket   string
			Key      string
			UploadId string
		}{Bucket: bucket, Key: key, UploadId: id})
	case r.Method == http.MethodPost && q.Has("uploadId"):
		parts, ok := s.uploads[q.Get("uploadId")]
		if !ok {
			s.fail(w, r, http.StatusNotFound, "NoSuchUpload")
			return
		}
		numbers := make([]int, 0, len(parts))
		for n := range parts {
			numbers = append(numbers, n)
		}
		slices.Sort(numbers)
		var data []byte
		for _, n := range numbers {
			data = append(data, parts[n]...)
		}
		delete(s.uploads, q.Get("uploadId"))
		s.objects[key] = s3Object{data: data, modified: time.Now().UTC()}
		writeXML(w, struct {
			XMLName xml.Name `xml:"CompleteMultipartUploadResult"`
			Bucket  string
			Key     string
			ETag    string
		}{Bucket: bucket, Key: key, ETag: `"multipart"`})
	case r.Method == http.MethodDelete && len(q) == 0:
		delete(s.objects, key)
		w.WriteHeader(http.StatusNoContent)
	default:
		s.fail(w, r, http.StatusNotImplemented, "NotImplemented")
	}
}

// list answers ListObjectsV2: every key under prefix, folded at the delimiter, in one page.
func (s *fakeS3) list(w http.ResponseWriter, q url.Values) {
	type content struct {
		Key          string
		LastModified string
		ETag         string
		Size         int
	}
	type commonPrefix struct{ Prefix string }
	res := struct {
		XMLName        xml.Name `xml:"ListBucketResult"`
		Name           string
		Prefix         string
		IsTruncated    bool
		Contents       []content
		CommonPrefixes []commonPrefix
	}{Name: s.bucket, Prefix: q.Get("prefix")}
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	seen := map[string]bool{}
	keys := make([]string, 0, len(s.objects))
	for k := range s.objects {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		if i := strings.Index(rest, delim); delim != "" && i >= 0 {
			p := prefix + rest[:i+len(delim)]
			if !seen[p] {
				seen[p] = true
				res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{p})
			}
			continue
		}
		o := s.objects[k]
		res.Contents = append(res.Contents, content{Key: k, Size: len(o.data),
			LastModified: o.modified.Format("2006-01-02T15:04:05.000Z"), ETag: `"x"`})
	}
	writeXML(w, res)
}

func (s *fakeS3) fail(w http.ResponseWriter, r *http.Request, status int, code string) {
	if status == http.StatusNotImplemented || status == http.StatusBadRequest {
		s.odd = append(s.odd, r.Method+" "+r.URL.String())
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		writeXMLBody(w, struct {
			XMLName xml.Name `xml:"Error"`
			Code    string
		}{Code: code})
	}
}

func writeXML(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/xml")
	writeXMLBody(w, v)
}

func writeXMLBody(w io.Writer, v any) {
	io.WriteString(w, xml.Header)
	xml.NewEncoder(w).Encode(v)
}

// TestBackupScriptsRealS3 runs stanza_init.sh and backup_if_primary.sh for real with the
// rendered s3 pgbackrest.conf: PostgreSQL archives and pgbackrest backs up into an in-process
// S3 bucket on loopback, with the credentials taken from the environment.
func TestBackupScriptsRealS3(t *testing.T) {
	t.Parallel() // slow: runs real tools; independent of every other test
	s3, srv := newFakeS3(t, "pg-backups")
	repo := topology.Repo{Type: topology.RepoS3, Path: "/pgbackrest/prod", Bucket: "pg-backups",
		Endpoint: "s3.eu-central-1.amazonaws.com", Region: "eu-central-1"}
	port := strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port)
	pg := startRealPG(t, &repo,
		// The rendered file names the real endpoint; the test points it at loopback.
		"PGBACKREST_REPO1_S3_ENDPOINT=127.0.0.1", "PGBACKREST_REPO1_STORAGE_PORT="+port,
		"PGBACKREST_REPO1_S3_URI_STYLE=path", "PGBACKREST_REPO1_STORAGE_VERIFY_TLS=n",
		"PGBACKREST_REPO1_S3_KEY=AKIDVIPCTLTEST", "PGBACKREST_REPO1_S3_KEY_SECRET=not-a-real-secret")
	patroni := newPatroniStub(t)
	patroni.primary.Store(true)
	url := "VIPCTL_PATRONI_URL=" + patroni.srv.URL

	if out, err := pg.run(t, 60*time.Second, []string{url, "VIPCTL_STANZA_INIT_INTERVAL=1",
		"VIPCTL_STANZA_INIT_TIMEOUT=40"}, pg.path("stanza_init.sh")); err != nil {
		t.Fatalf("stanza_init.sh on the leader: %v\n%s", err, out)
	}
	if out, err := pg.run(t, 60*time.Second, []string{url}, pg.path("backup_if_primary.sh"), "full"); err != nil {
		t.Fatalf("backup_if_primary.sh full: %v\n%s", err, out)
	}
	if d := cmp.Diff([]string{"full"}, backupTypes(pg.info(t))); d != "" {
		t.Errorf("backups listed by pgbackrest info (-want +got):\n%s", d)
	}

	s3.mu.Lock()
	defer s3.mu.Unlock()
	var archived, backedUp bool
	for k := range s3.objects {
		archived = archived || strings.HasPrefix(k, "pgbackrest/prod/archive/msrvc01/")
		backedUp = backedUp || strings.HasPrefix(k, "pgbackrest/prod/backup/msrvc01/")
	}
	if !archived || !backedUp {
		t.Errorf("bucket holds archive %v, backup %v under pgbackrest/prod/…/msrvc01; want both", archived, backedUp)
	}
	if !s3.keys["AKIDVIPCTLTEST"] || len(s3.keys) != 1 {
		t.Errorf("requests signed by %v, want only the key from the environment", s3.keys)
	}
	if len(s3.odd) > 0 {
		t.Errorf("pgbackrest made requests the fake does not understand: %q", s3.odd)
	}
}
