package elks

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/elkspipe/elkspipe/internal/proxytest"
)

// Behind the proxies users run, with their idle timeout cut to 2 s, an
// idle call lives on while the session pings (every 700 ms here), and is
// cut by the proxy without pings: the failure the pings exist for.
func TestKeepaliveThroughProxies(t *testing.T) {
	for _, proxy := range []struct {
		name  string
		start func(t testing.TB, upstream string) string
	}{
		{"nginx", func(t testing.TB, up string) string { return proxytest.Nginx(t, up, "proxy_read_timeout 2s;") }},
		{"haproxy", func(t testing.TB, up string) string { return proxytest.HAProxy(t, up, "timeout tunnel 2s") }},
	} {
		for _, ping := range []time.Duration{700 * time.Millisecond, -1} {
			name := proxy.name + "/ping=" + ping.String()
			if ping < 0 {
				name = proxy.name + "/no-pings"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				ended := make(chan End, 1)
				url, _ := srvTest(t, &Server{Config: Config{Ping: ping},
					Handler: func(ctx context.Context, s *Session) error {
						<-s.Done()
						ended <- s.End()
						return nil
					}})
				upstream := strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/")
				front := proxy.start(t, upstream)
				ctx := context.Background()
				c, _, err := websocket.Dial(ctx, "ws://"+front+"/", nil)
				if err != nil {
					t.Fatal(err)
				}
				defer c.CloseNow()
				c.Write(ctx, websocket.MessageText, []byte(`{"t":"hello","callid":"idle","from":"+1","to":"+2"}`))
				go func() { // the API reads, and so answers pings
					for {
						if _, _, err := c.Read(ctx); err != nil {
							return
						}
					}
				}()
				select {
				case e := <-ended:
					if ping > 0 {
						t.Fatalf("the idle call was cut with pings on: %+v", e)
					}
					if e.By != ByDrop {
						t.Errorf("without pings the call ended %+v, want dropped", e)
					}
				case <-time.After(6 * time.Second): // 3 idle timeouts
					if ping < 0 {
						t.Fatal("without pings, the proxy kept an idle call for 3 of its idle timeouts: the test proves nothing")
					}
					c.Close(websocket.StatusNormalClosure, "")
					<-ended
				}
			})
		}
	}
}
