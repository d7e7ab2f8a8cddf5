package cib

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/vipctl/vipctl/internal/pcmk"
)

// DefaultToolTimeout bounds each run of a Pacemaker tool when Tools.Timeout is zero.
const DefaultToolTimeout = pcmk.DefaultTimeout

// ErrNoSchema is matched (errors.Is) when a document does not declare a pacemaker-3.x schema:
// crm_verify accepts such a document without checking it against any schema.
var ErrNoSchema = errors.New("CIB does not declare validate-with=\"pacemaker-3.x\"")

// VerifyError is returned when crm_verify does not accept a document silently.
type VerifyError struct {
	ExitCode int    // crm_verify's exit code (0 when it accepted but had something to say)
	Output   string // what crm_verify said, stdout then stderr
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("crm_verify did not accept the CIB (exit %d): %s", e.ExitCode, strings.TrimSpace(e.Output))
}

// Tools runs Pacemaker's offline tools on rendered documents. The zero value runs
// crm_verify and crm_simulate from PATH with DefaultToolTimeout.
type Tools struct {
	CrmVerify   string        // crm_verify's path or name; "" means "crm_verify"
	CrmSimulate string        // crm_simulate's path or name; "" means "crm_simulate"
	Timeout     time.Duration // per run; 0 means DefaultToolTimeout

	runner pcmk.Runner // nil means pcmk.Local with Timeout
}

// toolResult is what one run of an external tool gave back.
type toolResult struct {
	stdout, stderr []byte
	exitCode       int
}

// run runs a tool under the timeout; an exit code, zero or not, is a result, not an error.
func (tl Tools) run(ctx context.Context, name string, args ...string) (toolResult, error) {
	r := tl.runner
	if r == nil {
		r = pcmk.Local{Timeout: tl.Timeout}
	}
	var stderr bytes.Buffer
	out, err := r.Run(ctx, pcmk.Cmd{Name: name, Args: args, Stderr: &stderr})
	res := toolResult{stdout: out, stderr: stderr.Bytes()}
	if code, exited := pcmk.ExitCode(err); exited {
		res.exitCode = code
		return res, nil
	}
	return res, err
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Verify checks a CIB document with crm_verify using the tools on PATH.
func Verify(ctx context.Context, doc *etree.Document) error {
	return Tools{}.Verify(ctx, doc)
}

// Verify checks that doc declares a pacemaker-3.x schema and that `crm_verify --xml-file`
// accepts it with exit 0 and no output. A refusal is a *VerifyError carrying crm_verify's words.
func (tl Tools) Verify(ctx context.Context, doc *etree.Document) error {
	if err := checkSchema(doc); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "vipctl-cib-")
	if err != nil {
		return fmt.Errorf("verify CIB: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "cib.xml")
	if err := writeDoc(doc, path); err != nil {
		return fmt.Errorf("verify CIB: %w", err)
	}
	res, err := tl.run(ctx, orDefault(tl.CrmVerify, "crm_verify"), "--xml-file", path)
	if err != nil {
		return fmt.Errorf("verify CIB: %w", err)
	}
	if res.exitCode != 0 || len(res.stdout) > 0 || len(res.stderr) > 0 {
		out := string(res.stdout) + string(res.stderr)
		return &VerifyError{ExitCode: res.exitCode, Output: strings.ReplaceAll(out, path, "cib.xml")}
	}
	return nil
}

// checkSchema returns ErrNoSchema unless the document's root is <cib> declaring
// validate-with="pacemaker-3.x".
func checkSchema(doc *etree.Document) error {
	root := doc.Root()
	if root == nil || root.Tag != "cib" {
		return fmt.Errorf("%w: no <cib> root element", ErrNoSchema)
	}
	v := root.SelectAttrValue("validate-with", "")
	rest, ok := strings.CutPrefix(v, "pacemaker-3.")
	if !ok || rest == "" || strings.Trim(rest, "0123456789") != "" {
		return fmt.Errorf("%w: it says %q", ErrNoSchema, v)
	}
	return nil
}

// writeDoc writes a document to path the way RenderXML does.
func writeDoc(doc *etree.Document, path string) error {
	b, err := WriteXML(doc)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}
