package live

import (
	"context"
	"net"
)

// icyConn reads a connection on which a Shoutcast v1 server answers
// "ICY 200 OK" instead of "HTTP/1.0 200 OK": it rewrites that status
// line's first word so that net/http reads the response.
type icyConn struct {
	net.Conn
	started bool
	pending []byte
}

// dialICY wraps the connections of dial in icyConn.
func dialICY(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &icyConn{Conn: c}, nil
	}
}

func (c *icyConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	if c.started {
		return c.Conn.Read(p)
	}
	var head [4]byte
	got := 0
	for got < len(head) {
		n, err := c.Conn.Read(head[got:])
		got += n
		if err != nil {
			c.started = true
			c.pending = append([]byte(nil), head[:got]...)
			if got == 0 {
				return 0, err
			}
			return c.Read(p)
		}
		if string(head[:got]) != "ICY "[:got] {
			break
		}
	}
	c.started = true
	if string(head[:got]) == "ICY " {
		c.pending = []byte("HTTP/1.0 ")
	} else {
		c.pending = append([]byte(nil), head[:got]...)
	}
	return c.Read(p)
}
