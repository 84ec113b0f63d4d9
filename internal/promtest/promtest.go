// Package promtest reads a /metrics page for tests with Prometheus's own
// text parser (github.com/prometheus/common/expfmt), the one a
// Prometheus server's scrape uses, so that a test checks both what the
// page says and that Prometheus can read it.
package promtest

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Scrape is a parsed /metrics page: its metric families by name (a
// histogram's _bucket, _sum and _count series are one family).
type Scrape map[string]*dto.MetricFamily

// Get fetches url (http://host:port/metrics), checks that it answers 200
// in Prometheus's text format, and parses it.
func Get(url string) (Scrape, error) {
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	ct := resp.Header.Get("Content-Type")
	if mt, params, err := mime.ParseMediaType(ct); err != nil || mt != "text/plain" || params["version"] != "0.0.4" {
		return nil, fmt.Errorf("GET %s: Content-Type %q, want Prometheus's text format (text/plain; version=0.0.4)", url, ct)
	}
	s, err := Parse(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	return s, nil
}

// Parse reads a page in Prometheus's text format.
func Parse(r io.Reader) (Scrape, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("not Prometheus's text format: %w", err)
	}
	return Scrape(fams), nil
}

// Type returns the type of the family name, and whether it is there.
func (s Scrape) Type(name string) (dto.MetricType, bool) {
	f, ok := s[name]
	if !ok {
		return 0, false
	}
	return f.GetType(), true
}

// find returns the series of family name whose labels are exactly
// labels (name, value pairs), or nil.
func (s Scrape) find(name string, labels []string) *dto.Metric {
	f, ok := s[name]
	if !ok || len(labels)%2 != 0 {
		return nil
	}
	want := map[string]string{}
	for i := 0; i < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(want) {
			continue
		}
		same := true
		for _, l := range m.GetLabel() {
			if v, ok := want[l.GetName()]; !ok || v != l.GetValue() {
				same = false
				break
			}
		}
		if same {
			return m
		}
	}
	return nil
}

// Value returns the value of the counter, gauge or untyped series
// name{labels} (labels: name, value pairs, all of the series' labels),
// and whether the series is there.
func (s Scrape) Value(name string, labels ...string) (float64, bool) {
	m := s.find(name, labels)
	switch {
	case m == nil:
		return 0, false
	case m.Counter != nil:
		return m.GetCounter().GetValue(), true
	case m.Gauge != nil:
		return m.GetGauge().GetValue(), true
	case m.Untyped != nil:
		return m.GetUntyped().GetValue(), true
	}
	return 0, false
}

// Histogram returns the histogram series name{labels}, and whether it is
// there.
func (s Scrape) Histogram(name string, labels ...string) (*dto.Histogram, bool) {
	m := s.find(name, labels)
	if m == nil || m.Histogram == nil {
		return nil, false
	}
	return m.GetHistogram(), true
}

// Labels returns the label sets of the family name's series, each as
// name=value words sorted, for messages and label checks.
func (s Scrape) Labels(name string) []string {
	var sets []string
	for _, m := range s[name].GetMetric() {
		var ls []string
		for _, l := range m.GetLabel() {
			ls = append(ls, l.GetName()+"="+l.GetValue())
		}
		sort.Strings(ls)
		sets = append(sets, strings.Join(ls, ","))
	}
	sort.Strings(sets)
	return sets
}
