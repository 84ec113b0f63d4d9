// Package dtmf detects DTMF (touch-tone) digits in audio, to the
// acceptance limits of ITU-T Q.24, with guards against talk-off (digits
// falsely detected in speech or music).
//
// # Algorithm
//
// The Detector works at the stream's own sample rate: its analysis is
// defined in time and frequency, not in samples, so it behaves the same
// at 8, 16, 24 or 48 kHz, and no decimation filter adds cost, latency or
// aliasing. A one-pole high-pass filter (20 Hz) removes any DC offset.
// Every 5 ms (the hop) a 20 ms Hann-windowed Goertzel analysis
// of the last 20 ms ends, so four windows overlap at every sample. Each
// window gives, for each of the eight DTMF frequencies, a complex DFT
// value; the Hann window keeps the leakage of one tone into the other
// group's bins below −50 dB, so twist and level are measured to a few
// tenths of a dB.
//
// A window is a candidate when, for the strongest frequency of each
// group, the tone levels, twist and share of the window's energy are
// roughly in range (with room for the scalloping of off-centre tones), and
// the raw energy of its four 5 ms quarters is steady (the weakest at least
// 40% of the strongest), which makes a window that a tone only half fills
// fail. When four consecutive windows (a 35 ms span) are candidates for
// the same digit, the detector measures precisely:
//
//   - the frequency of each tone, from the phase advance of its DFT value
//     between windows 5 ms apart (averaged, unambiguous within ±100 Hz)
//     refined by the advance over 15 ms; both tones must lie within
//     ±2.5% of their nominal frequency (Q.24: accept ±1.5%, reject beyond
//     ±3.5%);
//   - the level of each tone, its amplitude corrected for the window's
//     response at the measured offset: both at least −34 dBm0;
//   - the twist, high-group level minus low-group level: from −8.2 dB to
//     +4.2 dB;
//   - the two tones' share of the windowed energy: at least 90%. Speech,
//     music, harmonics (a second harmonic, say) and noise all lower it;
//     white noise 10 dB below the tones is the limit;
//   - the steadiness of each tone: its power varies by at most 2 dB over
//     the four windows, as a keypad's does and a bell's or a voice's does
//     not.
//
// The digit is reported then, once per key press, with the tone's start.
// A press ends when eight consecutive windows (a silence of about 25 ms)
// no longer carry its digit; a shorter interruption (Q.24 allows ~10 ms)
// is bridged. A different digit that passes all checks ends the previous
// press at once.
//
// # Levels
//
// Levels are given in dBm0 with the µ-law convention for 16-bit and float
// audio: a sine of 0 dBm0 has a peak 3.14 dB below full scale (amplitude
// 0.6964; full scale is +3.14 dBm0). So a tone of −25 dBm0 has a peak
// amplitude of 0.039, and the −6 dBFS default of elkspipe's dtmf source
// sounds each tone at −8.9 dBm0.
package dtmf
