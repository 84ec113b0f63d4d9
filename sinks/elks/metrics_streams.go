package elks

import (
	"net/url"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/elkspipe/elkspipe/sources"
)

// streamCollector reports the live streams of the process (the stream
// element: sources.StreamCounters), one series per stream, labelled with
// the stream's URL without its user, password, query or fragment
// (streamLabel), so that no secret of a URL reaches the metrics. Streams
// whose URLs differ only there are added together.
type streamCollector struct{}

var (
	streamListeners = prometheus.NewDesc("elkspipe_stream_listeners",
		"Calls (and loop iterations) playing the live stream now.", []string{"stream"}, nil)
	streamUp = prometheus.NewDesc("elkspipe_stream_up",
		"1 while a connection to the live stream delivers audio, 0 while it is down (its calls hear silence) or closed.", []string{"stream"}, nil)
	streamConnections = prometheus.NewDesc("elkspipe_stream_connections_total",
		"Connections to the live stream that delivered audio: the first, then one per reconnection.", []string{"stream"}, nil)
	streamDrops = prometheus.NewDesc("elkspipe_stream_drops_total",
		"Connections to the live stream lost while they played.", []string{"stream"}, nil)
	streamFailures = prometheus.NewDesc("elkspipe_stream_failed_attempts_total",
		"Attempts to (re)connect to the live stream that delivered no audio.", []string{"stream"}, nil)
	streamBytes = prometheus.NewDesc("elkspipe_stream_received_bytes_total",
		"Bytes received from the live stream's server.", []string{"stream"}, nil)
	streamOutage = prometheus.NewDesc("elkspipe_stream_outage_seconds_total",
		"Time the live stream was down while calls played it or it lingered for the next: from a drop or a failed first attempt to its next audio.", []string{"stream"}, nil)
	streamSilence = prometheus.NewDesc("elkspipe_stream_silence_seconds_total",
		"Silence the calls were given for want of the live stream's audio (outages, or a server slower than real time), summed over the calls.", []string{"stream"}, nil)
	streamDropped = prometheus.NewDesc("elkspipe_stream_dropped_seconds_total",
		"Audio of the live stream that calls lost because it waited too long for them (a slow call, or a burst after a reconnection), summed over the calls.", []string{"stream"}, nil)
)

// Describe sends the descriptions of the series.
func (streamCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{streamListeners, streamUp, streamConnections, streamDrops,
		streamFailures, streamBytes, streamOutage, streamSilence, streamDropped} {
		ch <- d
	}
}

// streamSums are the figures of the streams that have one label.
type streamSums struct {
	listeners, up                       float64
	connections, drops, failures, bytes float64
	outage, silence, dropped            float64
}

// Collect sends the series of every stream opened so far.
func (streamCollector) Collect(ch chan<- prometheus.Metric) {
	var order []string
	sums := map[string]*streamSums{}
	for _, u := range sources.StreamURLs() {
		st := sources.StreamCounters(u)
		label := streamLabel(u)
		s := sums[label]
		if s == nil {
			s = &streamSums{}
			sums[label] = s
			order = append(order, label)
		}
		s.listeners += float64(st.Listeners)
		if st.Connected {
			s.up = 1
		}
		s.connections += float64(st.Connections)
		s.drops += float64(st.Drops)
		s.failures += float64(st.Failures)
		s.bytes += float64(st.Bytes)
		s.outage += st.Outage.Seconds()
		if st.Rate > 0 {
			s.silence += float64(st.Padded) / float64(st.Rate)
			s.dropped += float64(st.Dropped) / float64(st.Rate)
		}
	}
	for _, label := range order {
		s := sums[label]
		ch <- prometheus.MustNewConstMetric(streamListeners, prometheus.GaugeValue, s.listeners, label)
		ch <- prometheus.MustNewConstMetric(streamUp, prometheus.GaugeValue, s.up, label)
		ch <- prometheus.MustNewConstMetric(streamConnections, prometheus.CounterValue, s.connections, label)
		ch <- prometheus.MustNewConstMetric(streamDrops, prometheus.CounterValue, s.drops, label)
		ch <- prometheus.MustNewConstMetric(streamFailures, prometheus.CounterValue, s.failures, label)
		ch <- prometheus.MustNewConstMetric(streamBytes, prometheus.CounterValue, s.bytes, label)
		ch <- prometheus.MustNewConstMetric(streamOutage, prometheus.CounterValue, s.outage, label)
		ch <- prometheus.MustNewConstMetric(streamSilence, prometheus.CounterValue, s.silence, label)
		ch <- prometheus.MustNewConstMetric(streamDropped, prometheus.CounterValue, s.dropped, label)
	}
}

// streamLabel is the URL u without what may be secret in it: its user
// and password, query and fragment.
func streamLabel(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "unparsable URL"
	}
	return (&url.URL{Scheme: p.Scheme, Host: p.Host, Path: p.Path}).String()
}
