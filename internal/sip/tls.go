package sip

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// certHolder serves the TLS listener's certificate through
// tls.Config.GetCertificate; Reload swaps it atomically, so handshakes in
// progress keep the one they started with.
type certHolder struct {
	certFile, keyFile string
	log               *slog.Logger
	cur               atomic.Pointer[tls.Certificate]
}

// newCertHolder loads the certificate and key PEM files.
func newCertHolder(certFile, keyFile string, log *slog.Logger) (*certHolder, error) {
	h := &certHolder{certFile: certFile, keyFile: keyFile, log: log}
	cert, err := loadCert(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	h.cur.Store(cert)
	h.logLoaded("TLS certificate loaded", cert)
	return h, nil
}

// loadCert reads a certificate (chain) and its key, and parses the leaf.
func loadCert(certFile, keyFile string) (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("sip.tls_cert %s / sip.tls_key %s: %w", certFile, keyFile, err)
	}
	if cert.Leaf == nil {
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			return nil, fmt.Errorf("sip.tls_cert %s: %w", certFile, err)
		}
		cert.Leaf = leaf
	}
	return &cert, nil
}

func (h *certHolder) logLoaded(msg string, cert *tls.Certificate) {
	h.log.Info(msg, "subject", cert.Leaf.Subject.String(), "dns_names", cert.Leaf.DNSNames,
		"not_after", cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
}

// GetCertificate is tls.Config.GetCertificate: the current certificate.
func (h *certHolder) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return h.cur.Load(), nil
}

// Reload re-reads the files. A file that does not load leaves the
// current certificate in place and is logged and returned.
func (h *certHolder) Reload() error {
	cert, err := loadCert(h.certFile, h.keyFile)
	if err != nil {
		h.log.Error("TLS certificate reload failed; keeping the current certificate", "err", err)
		return err
	}
	h.cur.Store(cert)
	h.logLoaded("TLS certificate reloaded", cert)
	return nil
}

// ReloadTLS re-reads the TLS listener's certificate and key (on SIGHUP).
// On failure the old certificate stays in use. Without a TLS listener it
// does nothing.
func (s *Server) ReloadTLS() error {
	if s.certs == nil {
		return nil
	}
	return s.certs.Reload()
}

// listenTLS binds the TLS listener (Config.TLSListen), under the same
// connection caps and timeouts as TCP.
func (s *Server) listenTLS() error {
	if s.cfg.TLSListen == "" {
		return nil
	}
	certs, err := newCertHolder(s.cfg.TLSCertFile, s.cfg.TLSKeyFile, s.log)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", s.cfg.TLSListen)
	if err != nil {
		return fmt.Errorf("sip.tls_listen %s: %w", s.cfg.TLSListen, err)
	}
	s.certs = certs
	s.tlsTCP = newTCPListener(l, s.tcpLimits(), s.trusted, s.cfg.RejectUntrusted != Untrusted403, s.refused, s.log, s.cfg.RejectLogInterval)
	s.tlsLn = tls.NewListener(s.tlsTCP, &tls.Config{GetCertificate: certs.GetCertificate, MinVersion: tls.VersionTLS12})
	return nil
}

// tlsAdvertisedPort is the port Via and Contact carry over TLS: the TLS
// listener's (its bound port, so ":0" works), else 0 (sipgo then writes
// the connection's local port in Via, and Contact has none).
func (s *Server) tlsAdvertisedPort() int {
	if s.tlsTCP == nil {
		return 0
	}
	_, p, err := net.SplitHostPort(s.tlsTCP.Addr().String())
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

// TLSAddr is the TLS listener's address, or "" without one.
func (s *Server) TLSAddr() string {
	if s.tlsTCP == nil {
		return ""
	}
	return s.tlsTCP.Addr().String()
}

// trunkTLSConfig is the configuration callrec dials the trunk with over
// TLS: the system roots plus Config.TrunkTLSCAFile, the trunk's name
// (Config.TrunkTLSServerName, else the host of TrunkAddress), TLS 1.2 or
// later. The verified leaf certificate is recorded for TrunkCertificate.
func (s *Server) trunkTLSConfig() (*tls.Config, error) {
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if f := s.cfg.TrunkTLSCAFile; f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("trunk.tls_ca: %w", err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("trunk.tls_ca %s: no PEM certificate in the file", f)
		}
	}
	name := s.cfg.TrunkTLSServerName
	if name == "" {
		host, _, err := net.SplitHostPort(s.cfg.TrunkAddress)
		if err != nil {
			host = s.cfg.TrunkAddress
		}
		name = host
	}
	return &tls.Config{
		RootCAs:    roots,
		ServerName: name,
		MinVersion: tls.VersionTLS12,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) > 0 {
				s.trunkCert.Store(cs.PeerCertificates[0])
			}
			return nil
		},
	}, nil
}

// TrunkCertificate is the certificate the trunk presented on the last TLS
// connection callrec opened to it, or nil.
func (s *Server) TrunkCertificate() *x509.Certificate { return s.trunkCert.Load() }
