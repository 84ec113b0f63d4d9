package keep

import (
	"context"
	"testing"
)

type counter struct{ n *int }

func (c counter) Release() { *c.n++ }

// Values are released when replaced or removed and when the Memory is;
// a value put after that is released at once; a nested Scope shares the
// outer Memory and its release does nothing.
func TestMemory(t *testing.T) {
	if From(context.Background()) != nil {
		t.Fatal("a bare context carries a Memory")
	}
	ctx, release := Scope(context.Background())
	m := From(ctx)
	if m == nil {
		t.Fatal("Scope carries no Memory")
	}
	inner, innerRelease := Scope(ctx)
	if From(inner) != m {
		t.Fatal("a nested Scope made a Memory of its own")
	}
	var a, b, c, d int
	m.Put("k", counter{&a})
	m.Put("k", counter{&b})
	if a != 1 || b != 0 {
		t.Fatalf("replacing released %d and %d, want 1 and 0", a, b)
	}
	if got, ok := m.Get("k").(counter); !ok || got.n != &b {
		t.Fatal("Get does not return the value put last")
	}
	m.Put("other", counter{&c})
	m.Put("other", nil)
	if c != 1 || m.Get("other") != nil {
		t.Fatal("Put nil does not remove and release")
	}
	innerRelease()
	if b != 0 {
		t.Fatal("the nested Scope's release released the outer Memory's values")
	}
	release()
	if b != 1 {
		t.Fatalf("release released the value %d times, want 1", b)
	}
	m.Put("late", counter{&d})
	if d != 1 || m.Get("late") != nil {
		t.Fatal("a value put after release was kept")
	}
}
