package metrics

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Samples are the values of a scrape keyed as the text format writes a sample, labels sorted:
// `vipctl_vip_holder{group="db-a",host="pg-01"}`; a histogram gives its _bucket (with le),
// _sum and _count samples, a summary its quantiles, _sum and _count.
type Samples map[string]float64

// Parse reads a scrape in Prometheus's text format with Prometheus's own parser (expfmt), for
// tests and scripts that check what vipctl-metrics exports.
func Parse(r io.Reader) (Samples, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("metrics: parse: %w", err)
	}
	s := Samples{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				s[key(name, m.GetLabel())] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				s[key(name, m.GetLabel())] = m.GetGauge().GetValue()
			case dto.MetricType_UNTYPED:
				s[key(name, m.GetLabel())] = m.GetUntyped().GetValue()
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					le := &dto.LabelPair{Name: new("le"), Value: new(strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64))}
					s[key(name+"_bucket", append(slices.Clone(m.GetLabel()), le))] = float64(b.GetCumulativeCount())
				}
				s[key(name+"_sum", m.GetLabel())] = h.GetSampleSum()
				s[key(name+"_count", m.GetLabel())] = float64(h.GetSampleCount())
			case dto.MetricType_SUMMARY:
				sm := m.GetSummary()
				for _, q := range sm.GetQuantile() {
					ql := &dto.LabelPair{Name: new("quantile"), Value: new(strconv.FormatFloat(q.GetQuantile(), 'g', -1, 64))}
					s[key(name, append(slices.Clone(m.GetLabel()), ql))] = q.GetValue()
				}
				s[key(name+"_sum", m.GetLabel())] = sm.GetSampleSum()
				s[key(name+"_count", m.GetLabel())] = float64(sm.GetSampleCount())
			default:
				return nil, fmt.Errorf("metrics: parse: %s: type %s is not read", name, mf.GetType())
			}
		}
	}
	return s, nil
}

func key(name string, labels []*dto.LabelPair) string {
	if len(labels) == 0 {
		return name
	}
	pairs := make([]string, len(labels))
	for i, l := range labels {
		pairs[i] = l.GetName() + "=" + strconv.Quote(l.GetValue())
	}
	slices.Sort(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}

// Select returns the samples of the metric name (any labels).
func (s Samples) Select(name string) Samples {
	out := Samples{}
	for k, v := range s {
		if k == name || strings.HasPrefix(k, name+"{") {
			out[k] = v
		}
	}
	return out
}
