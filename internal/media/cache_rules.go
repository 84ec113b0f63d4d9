package media

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxHeuristic caps the freshness guessed from Last-Modified.
const maxHeuristic = 24 * time.Hour

// fresh is what a response's headers say about reusing it.
type fresh struct {
	until   time.Time // reusable without a request until then
	noCache bool      // revalidate before every reuse
	noStore bool      // do not keep it
}

// freshness reads Cache-Control, Expires, Date, Age and Last-Modified
// (RFC 9111 for a private cache): max-age wins over Expires; without
// either, 10% of the time since Last-Modified, at most a day.
func freshness(h http.Header, now time.Time) fresh {
	var f fresh
	maxAge := -1
	for _, v := range h.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(name) {
			case "no-store":
				f.noStore = true
			case "no-cache":
				f.noCache = true
			case "max-age":
				if n, err := strconv.Atoi(strings.Trim(val, `"`)); err == nil && n >= 0 {
					maxAge = n
				}
			}
		}
	}
	if strings.Contains(strings.ToLower(h.Get("Pragma")), "no-cache") && len(h.Values("Cache-Control")) == 0 {
		f.noCache = true
	}
	date, err := http.ParseTime(h.Get("Date"))
	if err != nil {
		date = now
	}
	var age time.Duration
	if a, err := strconv.Atoi(h.Get("Age")); err == nil && a > 0 {
		age = time.Duration(a) * time.Second
	}
	switch {
	case maxAge >= 0:
		f.until = now.Add(time.Duration(maxAge)*time.Second - age)
	case h.Get("Expires") != "":
		if exp, err := http.ParseTime(h.Get("Expires")); err == nil {
			f.until = now.Add(exp.Sub(date) - age) // an invalid Expires means already expired
		}
	case h.Get("Last-Modified") != "":
		if lm, err := http.ParseTime(h.Get("Last-Modified")); err == nil && lm.Before(date) {
			f.until = now.Add(min(date.Sub(lm)/10, maxHeuristic) - age)
		}
	}
	return f
}
