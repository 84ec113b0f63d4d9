package main

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/elkspipe/elkspipe/sinks/elks"
)

// reloadOnHangup re-reads, on every SIGHUP, what srv can take without a
// restart (reloadServer); it returns a function that stops listening for
// SIGHUP.
func reloadOnHangup(srv *elks.Server) (stop func()) {
	return onHangup(func() { reloadServer(srv) })
}

// reloadServer re-reads srv's TLS certificate (tls-cert=, tls-key=) and
// its token file (token=file:PATH), those it has. A reload that fails is
// logged, with why, and keeps what is in use; with nothing to re-read,
// it says so.
func reloadServer(srv *elks.Server) {
	if srv.TLSCert != "" {
		srv.ReloadCertificate() // logs what happened
	}
	if srv.TokenFile != "" {
		srv.ReloadToken() // logs what happened
	}
	if srv.TLSCert == "" && srv.TokenFile == "" {
		log := srv.Logger
		if log == nil {
			log = slog.Default()
		}
		log.Info("SIGHUP: no certificate (tls-cert=) or token file (token=file:PATH) to re-read")
	}
}

// onHangup runs reload on every SIGHUP until the returned function is
// called. Catching SIGHUP, a server is never stopped by one (systemctl
// reload, a terminal that closes): only SIGTERM and SIGINT stop it.
func onHangup(reload func()) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-hup:
				reload()
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
		<-finished
	}
}
