//go:build unix

package fdlimit

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	n, ok := Open()
	if !ok || n < 2*Headroom {
		t.Skipf("limit %d, %v", n, ok)
	}
	if why := Check(int(n) - Headroom); why != "" {
		t.Errorf("within the limit: %q", why)
	}
	why := Check(int(n))
	if !strings.Contains(why, "too many open files") || !strings.Contains(why, "ulimit -Hn") {
		t.Errorf("past the limit: %q", why)
	}
}
