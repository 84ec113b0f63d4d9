package elks

import (
	"net"
	"os"
	"strconv"
)

// callURL is the URL to give 46elks for calls to a server listening on
// addr: ws://HOST:PORT/PATH (wss:// with TLS), with ?token=xxx when a token is set (the
// token itself is never printed). A server listening on every interface
// is named by the machine's host name, or "<this host>" when that is
// unknown; a proxy in front of it has a URL of its own.
func (srv *Server) callURL(addr net.Addr) string {
	host, port := addr.String(), ""
	if tcp, ok := addr.(*net.TCPAddr); ok {
		port = strconv.Itoa(tcp.Port)
		switch {
		case tcp.IP == nil || tcp.IP.IsUnspecified():
			host = "<this host>"
			if name, err := os.Hostname(); err == nil && name != "" {
				host = name
			}
		default:
			host = tcp.IP.String()
		}
		host = net.JoinHostPort(host, port)
	}
	scheme := "ws://"
	if srv.TLSCert != "" {
		scheme = "wss://"
	}
	s := scheme + host + srv.path()
	if srv.token() != "" {
		s += "?token=xxx"
	}
	return s
}
