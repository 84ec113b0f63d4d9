package dtmf

import (
	"math"
	"math/cmplx"
)

// window takes the analysis of the window that ends with hop j: it decides
// whether the window is a candidate, follows the run of candidates and the
// press under way, and reports what changes.
func (d *Detector) window(j int64, w window) {
	w.digit = d.candidate(&w)
	prev := d.hist[(j-1)%runWindows].digit
	switch {
	case w.digit < 0:
		d.run = 0
	case d.run > 0 && prev == w.digit:
		d.run++
	default:
		d.run = 1
	}
	d.hist[j%runWindows] = w
	end := (j + 1) * int64(d.hop)
	if d.pressed {
		if w.digit == d.digit {
			d.misses, d.end = 0, end
		} else if d.misses++; d.misses >= gapWindows {
			d.release()
		}
	}
	if d.run < runWindows || (d.pressed && d.digit == w.digit) || !d.prove(j, w.digit) {
		return
	}
	if d.pressed {
		d.release() // a different digit: a new key without a pause
	}
	first := j - int64(d.run) + 1 - (windowHops - 1) // the hop where the run's first window starts
	d.pressed, d.digit, d.misses = true, w.digit, 0
	d.start, d.end = first*int64(d.hop), end
	d.events = append(d.events, Event{Digit: Keys[w.digit], Start: d.start, Len: end - d.start})
}

// release ends the press under way.
func (d *Detector) release() {
	d.pressed = false
	d.events = append(d.events, Event{Digit: Keys[d.digit], Start: d.start, Len: d.end - d.start, End: true})
}

// candidate returns the digit that window w may carry, or -1. Its checks
// are those of prove, without the frequency and with slack for the
// scalloping of tones off the centre of their bins, plus the steadiness
// of the window's quarters.
func (d *Detector) candidate(w *window) int8 {
	lo, hi := d.quarter[0], d.quarter[0]
	for _, e := range d.quarter[1:] {
		lo, hi = min(lo, e), max(hi, e)
	}
	if !(hi > 0) || lo < steadyRatio*hi {
		return -1
	}
	r, c := strongest(w, 0), strongest(w, 4)
	pr, pc := power(w.y[r]), power(w.y[c])
	if pr < d.candMinP || pc < d.candMinP || pc > pr*d.candTwistHi || pc < pr*d.candTwistLo {
		return -1
	}
	if d.share(d.amplitude(math.Sqrt(pr), 0), d.amplitude(math.Sqrt(pc), 0), w.energy) < minShare-slackShare {
		return -1
	}
	return int8(4*r + c - 4)
}

// strongest returns the index of the strongest of the four frequencies
// from first.
func strongest(w *window, first int) int {
	best, bp := first, -1.0
	for i := first; i < first+4; i++ {
		if p := power(w.y[i]); p > bp {
			best, bp = i, p
		}
	}
	return best
}

// power returns |y|².
func power(y complex128) float64 { return real(y)*real(y) + imag(y)*imag(y) }

// amplitude returns the peak amplitude of a tone whose windowed DFT value
// has magnitude mag, delta bins away from the centre of its bin.
func (d *Detector) amplitude(mag, delta float64) float64 {
	return 2 * mag / (d.sumW * hannResponse(delta))
}

// share returns the part of the windowed energy e that two tones of
// amplitudes a and b carry.
func (d *Detector) share(a, b, e float64) float64 {
	if !(e > 0) {
		return 0
	}
	return (a*a + b*b) / 2 * d.sumW2 / e
}

// hannResponse returns the magnitude response of a Hann window delta bins
// from its centre, relative to the centre: sinc(δ)/(1−δ²).
func hannResponse(delta float64) float64 {
	delta = math.Abs(delta)
	if delta < 1e-9 {
		return 1
	}
	if math.Abs(delta-1) < 1e-9 {
		return 0.5
	}
	x := math.Pi * delta
	return math.Abs(math.Sin(x) / x / (1 - delta*delta))
}

// prove makes the precise checks on the last runWindows windows, all
// candidates for digit, and reports whether they prove it.
func (d *Detector) prove(j int64, digit int8) bool {
	var amp [2]float64
	var energy float64
	for t := int64(0); t < runWindows; t++ {
		energy += d.hist[(j-t)%runWindows].energy
	}
	energy /= runWindows
	for g, i := range [2]int{int(digit / 4), 4 + int(digit%4)} {
		offset := d.offset(j, i)
		if math.Abs(offset) > freqTol*freqs[i] {
			return false
		}
		var p float64
		lo, hi := math.Inf(1), 0.0
		for t := int64(0); t < runWindows; t++ {
			y := d.hist[(j-t)%runWindows].y[i]
			pt := power(y)
			p += pt
			lo, hi = min(lo, pt), max(hi, pt)
		}
		if hi > lo*maxSwing {
			return false
		}
		amp[g] = d.amplitude(math.Sqrt(p/runWindows), offset*float64(d.length)/float64(d.rate))
	}
	if amp[0] < d.aMin || amp[1] < d.aMin {
		return false
	}
	twist := 20 * math.Log10(amp[1]/amp[0])
	if twist > maxTwistDB || twist < minTwistDB {
		return false
	}
	return d.share(amp[0], amp[1], energy) >= minShare
}

// offset measures how far in Hz the tone near frequency i lies from it,
// from the phase advance of its DFT value over the last runWindows
// windows: between neighbours (one hop, unambiguous within ±100 Hz, the
// products summed), then between the first and the last (three hops, a
// third of the error) unwrapped to the nearest of the first estimate.
func (d *Detector) offset(j int64, i int) float64 {
	om := 2 * math.Pi * freqs[i] / float64(d.rate)
	var r1 complex128
	for t := int64(0); t < runWindows-1; t++ {
		r1 += d.hist[(j-t)%runWindows].y[i] * cmplx.Conj(d.hist[(j-t-1)%runWindows].y[i])
	}
	hop := float64(d.hop)
	coarse := wrap(cmplx.Phase(r1)-om*hop) * float64(d.rate) / (2 * math.Pi * hop)
	lag := float64((runWindows - 1) * d.hop)
	rk := d.hist[j%runWindows].y[i] * cmplx.Conj(d.hist[(j-runWindows+1)%runWindows].y[i])
	fine := wrap(cmplx.Phase(rk)-om*lag) * float64(d.rate) / (2 * math.Pi * lag)
	period := float64(d.rate) / lag
	return fine + period*math.Round((coarse-fine)/period)
}

// wrap brings an angle into [−π, π].
func wrap(a float64) float64 {
	return a - 2*math.Pi*math.Round(a/(2*math.Pi))
}
