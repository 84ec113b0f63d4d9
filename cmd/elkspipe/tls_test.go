package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeSelfSigned writes a self-signed certificate for 127.0.0.1 (its own
// CA) and its key.
func writeSelfSigned(t *testing.T, name, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
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

// The server serves wss:// with tls-cert= and tls-key= and a token from a
// file; the simulator calls it with --ca. On SIGHUP it takes the new
// certificate while a call goes on: that call plays to its end, new calls
// see the new certificate.
func TestServeTLSReloadOnSIGHUP(t *testing.T) {
	bin := buildElkspipe(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	oldCA, newCA := filepath.Join(dir, "old-ca.pem"), filepath.Join(dir, "new-ca.pem")
	writeSelfSigned(t, "old", certFile, keyFile)
	copyFile(t, certFile, oldCA)
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600)

	cmd, logs, done := startServerProcess(t, bin, "tone 440 | elks listen=127.0.0.1:0 drain-delay=0 hangup=false tls-cert="+certFile+" tls-key="+keyFile+" token=file:"+tokenFile)
	logs.wait(t, "serving calls")
	m := regexp.MustCompile(`url="?wss://(127\.0\.0\.1:\d+)/\?token=xxx`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no wss:// URL in the log:\n%s", logs.String())
	}
	url := "wss://" + m[1] + "/?token=s3cret"

	// A call that goes on through the reload.
	long := make(chan string, 1)
	go func() {
		code, out, errOut := runCLI(t, context.Background(), "simulate", url, "--ca", oldCA, "--duration", "4s")
		long <- strings.Join([]string{string(rune('0' + code)), out, errOut}, "\n")
	}()
	logs.wait(t, "call started")

	writeSelfSigned(t, "new", certFile, keyFile)
	copyFile(t, certFile, newCA)
	cmd.Process.Signal(syscall.SIGHUP)
	logs.wait(t, "TLS certificate reloaded")

	if code, _, errOut := runCLI(t, context.Background(), "simulate", url, "--ca", newCA, "--duration", "200ms"); code != exitOK {
		t.Errorf("a call with the new CA after the reload: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := runCLI(t, context.Background(), "simulate", url, "--ca", oldCA, "--duration", "200ms"); code != exitFailed || !strings.Contains(errOut, "certificate") {
		t.Errorf("a call with the old CA after the reload: exit %d, want 1 naming the certificate\n%s", code, errOut)
	}
	if got := <-long; !strings.HasPrefix(got, "0\n") || !strings.Contains(got, "the caller hung up") {
		t.Errorf("the call through the reload:\n%s", got)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("after SIGTERM: %v\n%s", err, logs.String())
		}
		done <- nil // for the cleanup
	case <-time.After(60 * time.Second):
		t.Fatal("still running a minute after SIGTERM")
	}
	if code, _, errOut := runCLI(t, context.Background(), "simulate", url, "--ca", filepath.Join(dir, "none.pem")); code != exitUsage || !strings.Contains(errOut, "--ca: CA file") {
		t.Errorf("a missing --ca file: exit %d\n%s", code, errOut)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
