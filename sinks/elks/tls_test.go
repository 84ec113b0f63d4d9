package elks

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// tlsTestCA is a certificate authority made by the test.
type tlsTestCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTLSTestCA(t *testing.T) *tlsTestCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "elkspipe test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tlsTestCA{cert: cert, key: key, pool: pool}
}

// issue writes a certificate for 127.0.0.1 with the serial number to
// certFile and its key to keyFile.
func (ca *tlsTestCA) issue(t *testing.T, serial int64, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// tlsDial calls url over wss://, trusting ca, and returns the peer and
// the serial number of the certificate the server showed.
func tlsDial(t *testing.T, url string, ca *tlsTestCA) (*wirePeer, int64) {
	t.Helper()
	var serial int64
	cfg := &tls.Config{RootCAs: ca.pool, VerifyConnection: func(cs tls.ConnectionState) error {
		serial = cs.PeerCertificates[0].SerialNumber.Int64()
		return nil
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}})
	if err != nil {
		t.Fatal(err)
	}
	p := newWirePeer(WebSocket(c))
	p.start(Hello{CallID: "tls", From: "+46701234567", To: "+46766861234"})
	return p, serial
}

// A server with TLSCert and TLSKey serves wss://; ReloadCertificate puts
// new files in service for new connections while a call goes on; a bad
// reload keeps the certificate served.
func TestServerTLSAndReload(t *testing.T) {
	sessLeakCheck(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	ca := newTLSTestCA(t)
	ca.issue(t, 100, certFile, keyFile)
	log, logs := sessTestLogger()
	srv := &Server{TLSCert: certFile, TLSKey: keyFile, KeepOpen: true, Logger: log,
		Handler: func(ctx context.Context, s *Session) error { return nil }}
	if err := srv.ReloadCertificate(); err == nil {
		t.Error("ReloadCertificate before Serve succeeded")
	}
	url, stop := srvTest(t, srv)
	url = "wss://" + strings.TrimPrefix(url, "ws://")
	first, serial := tlsDial(t, url, ca)
	if serial != 100 {
		t.Errorf("served certificate %d, want 100", serial)
	}
	srvWait(t, "the first call", func() bool { return srv.ActiveCalls() == 1 })
	if !strings.Contains(logs.String(), "url=wss://127.0.0.1:") {
		t.Errorf("the serving line does not give a wss:// URL:\n%s", logs.String())
	}

	ca.issue(t, 200, certFile, keyFile)
	if err := srv.ReloadCertificate(); err != nil {
		t.Fatal(err)
	}
	second, serial := tlsDial(t, url, ca)
	if serial != 200 {
		t.Errorf("after the reload: certificate %d, want 200", serial)
	}
	srvWait(t, "both calls", func() bool { return srv.ActiveCalls() == 2 })

	os.WriteFile(keyFile, []byte("not a key"), 0o600)
	if err := srv.ReloadCertificate(); err == nil || !strings.Contains(err.Error(), keyFile) {
		t.Errorf("a bad key reloaded: %v", err)
	}
	third, serial := tlsDial(t, url, ca)
	if serial != 200 {
		t.Errorf("after a failed reload: certificate %d, want 200 still", serial)
	}
	srvWait(t, "three calls", func() bool { return srv.ActiveCalls() == 3 })
	for _, p := range []*wirePeer{first, second, third} {
		p.hangup()
		<-p.done
	}
	srvWait(t, "the calls to end", func() bool { return srv.ActiveCalls() == 0 })
	if err := stop(); err != nil {
		t.Error(err)
	}
}

// A missing certificate fails at start, naming the file.
func TestServerTLSMissingCert(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log, _ := sessTestLogger()
	srv := &Server{TLSCert: "/nonexistent/cert.pem", TLSKey: "/nonexistent/key.pem", Logger: log,
		Handler: func(ctx context.Context, s *Session) error { return nil }}
	err = srv.Serve(context.Background(), ln)
	if err == nil || !strings.Contains(err.Error(), "tls-cert=/nonexistent/cert.pem") {
		t.Errorf("Serve: %v", err)
	}
	srv = &Server{TLSCert: "cert.pem", Handler: func(ctx context.Context, s *Session) error { return nil }}
	ln, _ = net.Listen("tcp", "127.0.0.1:0")
	if err := srv.Serve(context.Background(), ln); err == nil || !strings.Contains(err.Error(), "tls-key=") {
		t.Errorf("Serve without a key: %v", err)
	}
}
