package elks

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
)

// certHolder holds a server's TLS certificate, read from its files at
// start and again on every reload, for tls.Config.GetCertificate: the
// connections that come after a reload get the new certificate, those
// already open keep theirs.
type certHolder struct {
	certFile, keyFile string

	mu   sync.RWMutex
	cert *tls.Certificate
}

// load reads the certificate and key files; on failure the certificate
// held so far stays.
func (h *certHolder) load() error {
	c, err := tls.LoadX509KeyPair(h.certFile, h.keyFile)
	if err != nil {
		return fmt.Errorf("tls-cert=%s tls-key=%s: %w", h.certFile, h.keyFile, err)
	}
	h.mu.Lock()
	h.cert = &c
	h.mu.Unlock()
	return nil
}

func (h *certHolder) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.cert, nil
}

// tlsListener wraps ln in TLS with the certificate of TLSCert and TLSKey,
// read now, when they are set; it returns ln as it is otherwise.
func (srv *Server) tlsListener(ln net.Listener) (net.Listener, error) {
	if srv.TLSCert == "" && srv.TLSKey == "" {
		return ln, nil
	}
	if srv.TLSCert == "" || srv.TLSKey == "" {
		return nil, errors.New("elks: TLS needs both a certificate and its key (tls-cert= and tls-key=, Server.TLSCert and TLSKey)")
	}
	h := &certHolder{certFile: srv.TLSCert, keyFile: srv.TLSKey}
	if err := h.load(); err != nil {
		return nil, err
	}
	srv.mu.Lock()
	srv.certs = h
	srv.mu.Unlock()
	cfg := &tls.Config{GetCertificate: h.get, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	return tls.NewListener(ln, cfg), nil
}

// ReloadCertificate reads the TLS certificate and key files again
// (TLSCert, TLSKey; the CLI does so on SIGHUP): new connections get the
// new certificate, calls going on keep their connection. When the files
// cannot be read or do not match, the certificate served so far stays,
// and the error says why (it is logged too). It is an error to reload a
// server that does not serve TLS, or before Serve has started.
func (srv *Server) ReloadCertificate() error {
	srv.mu.Lock()
	h := srv.certs
	srv.mu.Unlock()
	if h == nil {
		return errors.New("elks: the server serves no TLS certificate to reload (tls-cert=, tls-key=)")
	}
	if err := h.load(); err != nil {
		srv.logger().Error("reloading the TLS certificate failed; serving the previous one", "err", err)
		return err
	}
	srv.logger().Info("TLS certificate reloaded", "cert", h.certFile)
	return nil
}
