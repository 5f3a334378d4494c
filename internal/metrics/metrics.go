// Package metrics holds callrec's Prometheus metrics in a registry of its
// own: the call runtime, the job queue and the web side report to one
// *Metrics handed to each, and the web side serves it at /metrics.
package metrics

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds callrec's Prometheus metrics in a registry of its own (not
// the process-wide default), served at /metrics. Make it with New;
// its methods are safe for concurrent use and do nothing on a nil
// *Metrics, so callers need not check whether metrics are enabled.
type Metrics struct {
	reg *prometheus.Registry

	mu          sync.Mutex
	activeCalls func() float64

	calls         *prometheus.CounterVec
	rtpReceived   prometheus.Counter
	rtpLost       prometheus.Counter
	rtpSent       prometheus.Counter
	stageDuration *prometheus.HistogramVec
	stageFailures *prometheus.CounterVec
	loginFailures prometheus.Counter
	sipRejected   *prometheus.CounterVec
	storageFree   prometheus.Gauge
	storageTotal  prometheus.Gauge
	storageLow    prometheus.Gauge
	callMOS       *prometheus.HistogramVec
	callLoss      *prometheus.HistogramVec
	callJitter    *prometheus.HistogramVec
	callRTT       *prometheus.HistogramVec
}

// Metric names, as exposed at /metrics.
const (
	MetricActiveCalls   = "callrec_active_calls"
	MetricCalls         = "callrec_calls_total"
	MetricRTPReceived   = "callrec_rtp_packets_received_total"
	MetricRTPLost       = "callrec_rtp_packets_lost_total"
	MetricRTPSent       = "callrec_rtp_packets_sent_total"
	MetricStageDuration = "callrec_pipeline_stage_duration_seconds"
	MetricStageFailures = "callrec_pipeline_stage_failures_total"
	MetricLoginFailures = "callrec_web_login_failures_total"
	MetricSIPRejected   = "callrec_sip_rejected_total"
	MetricStorageFree   = "callrec_storage_free_bytes"
	MetricStorageTotal  = "callrec_storage_size_bytes"
	MetricStorageLow    = "callrec_storage_low"
	MetricCallMOS       = "callrec_call_mos"
	MetricCallLoss      = "callrec_call_packet_loss_percent"
	MetricCallJitter    = "callrec_call_jitter_seconds"
	MetricCallRTT       = "callrec_call_rtt_seconds"
)

// New returns a Metrics with every callrec metric registered, plus
// the Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.calls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricCalls,
		Help: "Calls that ended, by final status (completed, unanswered, rejected, failed, interrupted).",
	}, []string{"status"})
	m.rtpReceived = prometheus.NewCounter(prometheus.CounterOpts{
		Name: MetricRTPReceived,
		Help: "RTP packets received from call legs.",
	})
	m.rtpLost = prometheus.NewCounter(prometheus.CounterOpts{
		Name: MetricRTPLost,
		Help: "RTP packets lost (gaps in sequence numbers) on received streams.",
	})
	m.rtpSent = prometheus.NewCounter(prometheus.CounterOpts{
		Name: MetricRTPSent,
		Help: "RTP packets sent to call legs.",
	})
	m.stageDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: MetricStageDuration,
		Help: "Duration of successful post-call pipeline stage attempts, by stage.",
		// 0.1 s … about 55 min: rendering takes seconds, transcribing a
		// long call minutes.
		Buckets: prometheus.ExponentialBuckets(0.1, 2.5, 15),
	}, []string{"stage"})
	m.stageFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricStageFailures,
		Help: "Failed post-call pipeline stage attempts, by stage.",
	}, []string{"stage"})
	m.loginFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: MetricLoginFailures,
		Help: "Refused web log-ins (wrong password or rate-limited).",
	})
	m.sipRejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricSIPRejected,
		Help: "SIP requests refused or dropped before a call began, by reason (untrusted_source, bad_sdp, no_common_codec, bad_extension, busy, draining, malformed…).",
	}, []string{"reason"})
	m.storageFree = prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricStorageFree, Help: "Free space on data_dir's file system."})
	m.storageTotal = prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricStorageTotal, Help: "Size of data_dir's file system."})
	m.storageLow = prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricStorageLow, Help: "1 while the free space is below storage.min_free or the disk is full."})
	m.callMOS = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    MetricCallMOS,
		Help:    "Estimated mean opinion score (ITU-T G.107 E-model, 1-4.5) of each call leg's received audio, by leg (owner, other).",
		Buckets: []float64{1, 2, 2.5, 3, 3.5, 3.8, 4, 4.2, 4.3, 4.4, 4.5},
	}, []string{"leg"})
	m.callLoss = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    MetricCallLoss,
		Help:    "Share of each call leg's RTP packets lost, in percent, by leg.",
		Buckets: []float64{0, 0.1, 0.5, 1, 2, 3, 5, 10, 20, 50},
	}, []string{"leg"})
	m.callJitter = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    MetricCallJitter,
		Help:    "Interarrival jitter (RFC 3550) of each call leg's RTP at the end of the call, by leg.",
		Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2},
	}, []string{"leg"})
	m.callRTT = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    MetricCallRTT,
		Help:    "Round-trip time measured with RTCP on each call leg that sent reports, by leg.",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1},
	}, []string{"leg"})
	active := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: MetricActiveCalls,
		Help: "Calls in progress.",
	}, m.active)
	m.reg.MustRegister(
		active, m.calls, m.rtpReceived, m.rtpLost, m.rtpSent, m.stageDuration, m.stageFailures, m.loginFailures, m.sipRejected, m.storageFree, m.storageTotal, m.storageLow,
		m.callMOS, m.callLoss, m.callJitter, m.callRTT,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// active reads the active-calls function set with SetActiveCalls.
func (m *Metrics) active() float64 {
	m.mu.Lock()
	f := m.activeCalls
	m.mu.Unlock()
	if f == nil {
		return 0
	}
	return f()
}

// Registry returns the registry the metrics live in, for registering more
// collectors.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// SetActiveCalls sets the function read on every scrape for the number of
// calls in progress (such as the runtime's count of live calls). It must be
// safe to call from any goroutine and return quickly.
func (m *Metrics) SetActiveCalls(f func() float64) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.activeCalls = f
	m.mu.Unlock()
}

// CallEnded counts a call that ended with the given status (one of the
// store.Status constants).
func (m *Metrics) CallEnded(status string) {
	if m == nil {
		return
	}
	m.calls.WithLabelValues(status).Inc()
}

// RTP adds packet counts: received from, lost on the way from, and sent to
// call legs. Call it with the increments since the last call (for example
// once per call when it ends, or periodically).
func (m *Metrics) RTP(received, lost, sent uint64) {
	if m == nil {
		return
	}
	m.rtpReceived.Add(float64(received))
	m.rtpLost.Add(float64(lost))
	m.rtpSent.Add(float64(sent))
}

// StageDone records a successful pipeline stage attempt that took d.
func (m *Metrics) StageDone(stage string, d time.Duration) {
	if m == nil {
		return
	}
	m.stageDuration.WithLabelValues(stage).Observe(d.Seconds())
}

// StageFailed counts a failed pipeline stage attempt.
func (m *Metrics) StageFailed(stage string) {
	if m == nil {
		return
	}
	m.stageFailures.WithLabelValues(stage).Inc()
}

// LoginFailed counts a refused web log-in.
func (m *Metrics) LoginFailed() {
	if m == nil {
		return
	}
	m.loginFailures.Inc()
}

// SIPRejected counts a SIP request refused (or dropped) before a call
// began, by reason.
func (m *Metrics) SIPRejected(reason string) {
	if m == nil {
		return
	}
	m.sipRejected.WithLabelValues(reason).Inc()
}

// SetStorage records the free space and size of data_dir's file system and
// whether it is low.
func (m *Metrics) SetStorage(free, total uint64, low bool) {
	if m == nil {
		return
	}
	m.storageFree.Set(float64(free))
	m.storageTotal.Set(float64(total))
	if low {
		m.storageLow.Set(1)
	} else {
		m.storageLow.Set(0)
	}
}

// CallQuality records one call leg's quality figures at the end of the
// call: its MOS estimate, loss (percent), jitter and round-trip time
// (milliseconds; rttMS 0 means unknown and is not observed).
func (m *Metrics) CallQuality(leg string, mos, lossPercent, jitterMS, rttMS float64) {
	if m == nil {
		return
	}
	m.callMOS.WithLabelValues(leg).Observe(mos)
	m.callLoss.WithLabelValues(leg).Observe(lossPercent)
	m.callJitter.WithLabelValues(leg).Observe(jitterMS / 1000)
	if rttMS > 0 {
		m.callRTT.WithLabelValues(leg).Observe(rttMS / 1000)
	}
}
