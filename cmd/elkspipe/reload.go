package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/elkspipe/elkspipe/sinks/elks"
)

// reloadOnHangup re-reads srv's TLS certificate on every SIGHUP, when it
// serves TLS (a failed reload is logged and keeps the certificate served
// so far); it returns a function that stops listening for SIGHUP.
func reloadOnHangup(srv *elks.Server) (stop func()) {
	if srv.TLSCert == "" {
		return func() {}
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-hup:
				srv.ReloadCertificate() // logs what happened
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
	}
}
