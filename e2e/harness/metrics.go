package harness

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// metricsFlag returns the name of the flag that sets the address of `quiver
// serve`'s Prometheus endpoint (e.g. metrics-listen), or "" when the binary
// has none.
func metricsFlag(bin string) string {
	for _, name := range []string{"metrics-listen", "metrics-addr", "metrics-address", "metrics"} {
		if serveFlags(bin)[name] {
			return name
		}
	}
	return ""
}

// MetricsURL is the server's Prometheus endpoint, or "" when this quiver
// build has no metrics flag.
func (s *Server) MetricsURL() string { return s.metricsURL }

// Metric returns the sum of every sample of the metric name whose labels
// include labels. ok is false when the server exposes no metrics endpoint;
// a metric that was never observed sums to 0.
func (s *Server) Metric(ctx context.Context, name string, labels map[string]string) (sum float64, ok bool, err error) {
	if s.metricsURL == "" {
		return 0, false, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.metricsURL, nil)
	if err != nil {
		return 0, true, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, true, fmt.Errorf("scrape %s: %w", s.metricsURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, true, fmt.Errorf("scrape %s: %s", s.metricsURL, resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		metric, lbls, value, ok := parseSample(line)
		if !ok || metric != name {
			continue
		}
		match := true
		for k, v := range labels {
			if lbls[k] != v {
				match = false
				break
			}
		}
		if match {
			sum += value
		}
	}
	return sum, true, sc.Err()
}

// sampleRe matches a line of the Prometheus text format.
var sampleRe = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)`)

// labelRe matches one label pair.
var labelRe = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

func parseSample(line string) (name string, labels map[string]string, value float64, ok bool) {
	m := sampleRe.FindStringSubmatch(line)
	if m == nil {
		return "", nil, 0, false
	}
	v, err := strconv.ParseFloat(m[4], 64)
	if err != nil {
		return "", nil, 0, false
	}
	labels = map[string]string{}
	for _, l := range labelRe.FindAllStringSubmatch(m[3], -1) {
		labels[l[1]] = l[2]
	}
	return m[1], labels, v, true
}
