package pipeline

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseDuration reads a duration written as a Go duration ("250ms", "1.5s",
// "2m") or as plain seconds ("3", "0.25"). Negative durations are refused.
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	var d time.Duration
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(secs) || math.IsInf(secs, 0) || math.Abs(secs) > 1e9 {
			return 0, fmt.Errorf("duration %q out of range", s)
		}
		d = time.Duration(secs * float64(time.Second))
	} else {
		d, err = time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration (write 250ms, 1.5s, 2m or plain seconds)", s)
		}
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %q is negative", s)
	}
	return d, nil
}

// parseFrequency reads a frequency or rate in Hz, with an optional k for
// thousands and an optional Hz suffix: "440", "8k", "1.5k", "16kHz".
func parseFrequency(s string) (float64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(s, "Hz"), "hz")
	mult := 1.0
	if strings.HasSuffix(t, "k") || strings.HasSuffix(t, "K") {
		mult, t = 1000, t[:len(t)-1]
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a frequency (write 440, 8k or 16000)", s)
	}
	return v * mult, nil
}

// parseRate reads a sample rate like parseFrequency ("8k", "44.1k", "16000")
// and requires a whole positive number of Hz.
func parseRate(s string) (int, error) {
	v, err := parseFrequency(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a sample rate (write 8k, 44.1k or 16000)", s)
	}
	if v != math.Trunc(v) || v < 1 || v > MaxRate {
		return 0, fmt.Errorf("sample rate %q must be a whole number of Hz from 1 to %d", s, MaxRate)
	}
	return int(v), nil
}

// parseGain reads a level in decibels, with or without a dB suffix:
// "-6dB", "-6", "+3db".
func parseGain(s string) (float64, error) {
	t := s
	for _, suf := range []string{"dBFS", "dbfs", "dB", "db", "DB"} {
		if strings.HasSuffix(t, suf) {
			t = t[:len(t)-len(suf)]
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a level in dB (write -6dB or -6)", s)
	}
	return v, nil
}

// DBToAmplitude converts decibels to a linear amplitude factor.
func DBToAmplitude(db float64) float64 { return math.Pow(10, db/20) }

// parseBool reads yes/no, true/false, on/off or 1/0.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "1", "true", "yes", "on", "y":
		return true, nil
	case "0", "false", "no", "off", "n":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a yes/no value (write true or false)", s)
}

// FramesIn returns the number of frames that d lasts at rate, rounded to
// the nearest frame.
func FramesIn(d time.Duration, rate int) int64 {
	return int64(math.Round(d.Seconds() * float64(rate)))
}
