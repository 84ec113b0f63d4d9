package sources

// The texts below are what `elkspipe inspect NAME` prints after an
// element's parameters: the behaviour a user of the element needs to know
// beyond its summary.

func fileDetails() string {
	return `Files are recognised by their content, not their name: WAV (RIFF, RF64, BW64), MP3 and
FLAC.
` + urlNotes + wavNotes + mp3Notes + flacNotes
}

func wavDetails() string { return urlNotes + wavNotes }

const urlNotes = `URLs:
  http and https URLs play like files (other schemes are refused). They are downloaded into
  the download cache (-cache-dir; default elkspipe in the user's cache folder), one file per
  URL, and played from there, from the first bytes on while the download goes on. A copy
  that Cache-Control max-age or Expires says is fresh is played without a request; a stale
  one, or one sent with no-cache, is revalidated with its ETag or Last-Modified (a 304 costs
  no download); no-store is played once and not kept. Opens of one URL at the same moment
  make one request, so a thousand calls and loop iterations fetch it once, and an MP3's
  decoding is shared as for a file. Limits: 10 s to connect, 30 s without data (headers or
  body) ends the fetch, 10 redirects, 100 MB per file. Errors name the URL and say what
  failed, e.g. file "https://x/hold.mp3": HTTP 404 Not Found. When the server is down, times
  out or answers 5xx and a copy is cached, the copy plays and a warning is logged. A live
  stream (Icecast, Shoutcast) is refused with a pointer to the stream element. See
  docs/urls.md.
`

const wavNotes = `WAV:
  Unsigned 8-bit or signed 16/24/32-bit PCM (also 24 valid bits in 32-bit containers and any
  wValidBitsPerSample), 32/64-bit IEEE float, A-law and µ-law, in plain or
  WAVE_FORMAT_EXTENSIBLE headers, at any rate up to 768 kHz and up to 64 channels, in RIFF, RF64
  and BW64 files. Chunks it does not need (bext, LIST, JUNK, PAD...) are skipped wherever they
  stand, odd sizes and pad bytes included. A data size of 0 or 0xFFFFFFFF (what ffmpeg writes to
  a pipe) means "until the end of the input"; a data size larger than the file plays what is
  there; a cut-off final frame is dropped. Float files keep values beyond ±1; NaN plays as 0.
  Other encodings fail with their name and a fix, e.g. "wav: unsupported encoding ADPCM (format
  tag 2); convert with: ffmpeg -i IN -c:a pcm_s16le OUT.wav".
`

const mp3Notes = `MP3:
  MPEG-1 (32/44.1/48 kHz) and MPEG-2 (16/22.05/24 kHz) Layer III — CBR, VBR, ABR, mono, stereo,
  joint stereo — at the file's own rate and channels. ID3v1/ID3v2/APEv2/Lyrics3 tags and cover
  art are skipped, as is junk between frames; a truncated file plays up to the cut. Not
  supported, with an error that says how to convert: MPEG-2.5 (8/11.025/12 kHz), Layer I/II,
  free-format bitrate. Decoded samples are within 1 LSB of ffmpeg's for files from LAME and
  ffmpeg; intensity stereo, which some old encoders use, is less exact.
  Gapless: the encoder delay and padding recorded in a LAME/Info header (LAME, ffmpeg) are
  trimmed exactly as ffmpeg trims them, so 'file x.mp3 | loop' has no gap or click at the joint
  and the length is known. Files without that header keep the ~25 ms of leading silence every
  decoder adds; their length is found by walking the frame headers (no decoding) when a fade-out
  or a loop count needs it.
  Decoded once per process: all openings of an MP3 file (with file or playlist: loop iterations,
  playlist rounds, calls) share one decoding of it, kept in memory at 4 bytes per frame (a
  3-minute 44.1 kHz file takes 32 MB). Whichever reader first needs a frame decodes it, the
  others replay it sample for sample, and a call that hangs up halfway leaves its part for the
  next; a decoding nobody reads holds no file open. A changed file (size or modification time) is
  decoded afresh; files of unknown length are decoded per opening, and so are files that do not
  fit beside those being read: the least recently used files that nobody reads make room, and
  the cache never holds more than its size, set with -mp3-cache MiB (default 64; 0 turns it off)
  or sources.SetMP3CacheSize.
`

const flacNotes = `FLAC:
  4- to 24-bit samples (8, 16 and 24 equal ffmpeg's decoding sample for sample), 1 to 8
  channels, any rate (96 and 192 kHz too), fixed or variable block sizes; ID3v2 tags before the
  stream are skipped (from standard input only if they take less than 64 KiB: larger ones, cover
  art, make the file look like MP3 there). A file cut short, inside a frame or between frames before the length its
  header declares, plays up to the cut and then fails with "truncated"; a frame that fails its
  CRC ends the stream with an error naming the frame, its time and byte offset; decoded audio
  that does not match the header's MD5 signature fails at the end. 32-bit FLAC is refused with
  an error that says how to convert it. Decoded a frame at a time on every opening (FLAC is cheap
  to decode: no shared decoding as for MP3).
`

func playlistDetails() string {
	return `Items play in the format of the first (or rate=/channels=); the others are converted. A
broken item is skipped with a warning, once per run (per call for a server) however often a
loop re-opens the list (on-error=skip, the default), or stops the run (on-error=stop). M3U
lists: one path per line, # comments and #EXTINF skipped, relative paths taken from the list's
folder, or for a list given by URL, against the list's URL; PLS lists (FileN= entries) too.
Items and lists may be http(s) URLs, fetched through the download cache (see 'elkspipe inspect
file'); a URL that fails (404, timeout) is a broken item like a missing file. shuffle=yes
draws a new order every time the playlist is re-opened (each loop iteration); seed= makes the
sequence repeatable. MP3 items share their decoding with every other opening of the file (see
'elkspipe inspect file').
`
}

func toneDetails() string {
	return `The tone is exact over hours: the phase comes from the sample index, not an accumulator.
Square, saw and triangle are band-limited — only the harmonics below Nyquist, no aliasing
(measured below −109 dB) — so square and saw overshoot amp by up to 18% near their jumps.
to= makes a sweep over dur (log by default, like 'sox synth ... sine 20-20000'). Without dur a
tone is endless. ` + generatedNote
}

func dtmfDetails() string {
	return `Each digit plays the standard row (697/770/852/941 Hz) and column (1209/1336/1477/1633 Hz)
pair for 0-9 * # A-D, each tone 6 dB below amp; a comma is a pause (quote * and # for the
shell). ` + generatedNote
}

func silenceDetails() string { return generatedNote }

func noiseDetails() string { return generatedNote }

const generatedNote = `Generated sources run at 48 kHz mono unless given rate= or channels=,
or placed in a + sequence, where they take their neighbours' format instead of being resampled.
`

func rawDetails() string {
	return `Reads headerless interleaved audio, e.g. from another program:
  ffmpeg -i in.mp3 -f s16le -ac 1 -ar 16000 - | elkspipe 'raw - | wav out.wav'
With enc=ulaw or enc=alaw the rate defaults to 8000. A partial frame at the end is dropped.
`
}
