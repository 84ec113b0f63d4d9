#!/bin/sh
# Regenerates the WAV fixtures of sources/wav_test.go: short tones (0.05 to
# 0.1 s, amplitude 0.5) in every encoding the decoder reads, files written
# the way ffmpeg and sox write them (also to a pipe), and hand-made headers
# for layouts no tool writes. Needs ffmpeg, sox and python3.
# Run from this directory: sh make.sh
set -eu
cd "$(dirname "$0")"

# ff INPUT... OUTPUT: ffmpeg without version tags, so that the files do not
# change with the ffmpeg release.
ff() {
	n=$#
	set -- "$@" -fflags +bitexact -flags:a +bitexact
	i=1
	for a in "$@"; do # move OUTPUT (argument n) to the end
		if [ "$i" -eq "$n" ]; then out=$a; else set -- "$@" "$a"; fi
		i=$((i + 1))
	done
	shift $((n + 4))
	ffmpeg -v error -y "$@" "$out"
}
tone() { # tone RATE DURATION CHANNELS: an aevalsrc input, 440 Hz + 220 Hz per channel
	expr="0.5*sin(2*PI*440*t)"
	i=1
	while [ "$i" -lt "$3" ]; do
		expr="$expr|0.5*sin(2*PI*$((440 + 220 * i))*t)"
		i=$((i + 1))
	done
	echo "aevalsrc=$expr:s=$1:d=$2"
}

ff -f lavfi -i "$(tone 8000 0.1 1)" -c:a pcm_u8 u8.wav
ff -f lavfi -i "$(tone 8000 0.1 1)" -c:a pcm_s16le s16.wav
ff -f lavfi -i "$(tone 44100 0.05 2)" -c:a pcm_s16le s16-stereo-44k.wav
ff -f lavfi -i "$(tone 8000 0.05 6)" -c:a pcm_s16le s16-6ch.wav
ff -f lavfi -i "$(tone 48000 0.05 1)" -c:a pcm_s24le s24.wav
ff -f lavfi -i "$(tone 16000 0.1 1)" -c:a pcm_s32le s32.wav
ff -f lavfi -i "$(tone 8000 0.1 1)" -c:a pcm_f32le f32.wav
ff -f lavfi -i "$(tone 8000 0.1 1)" -c:a pcm_f64le f64.wav
ff -f lavfi -i "$(tone 8000 0.1 1)" -c:a pcm_alaw alaw.wav
ff -f lavfi -i "$(tone 8000 0.1 1)" -c:a pcm_mulaw ulaw.wav
ff -f lavfi -i "$(tone 22050 0.05 2)" -c:a pcm_s16le -rf64 always rf64.wav
ff -f lavfi -i "$(tone 8000 0.1 1)" -c:a pcm_s16le -f wav - | cat >pipe.wav
ff -f lavfi -i "$(tone 8000 0.1 1)" -c:a adpcm_ms adpcm.wav
ff -f lavfi -i "$(tone 8000 0.1 1)" -c:a adpcm_ima_wav adpcm-ima.wav
# sox: IEEE float with tag 3, a fact chunk and a WAVEFORMATEX fmt chunk;
# and a 16-bit stream to a pipe, whose data size (0x7ffff000) overstates
# the file.
sox -n -b 32 -e floating-point f32-sox.wav synth 0.1 sine 440 vol 0.5
sox -D -n -b 16 -t wav - synth 0.1 sine 440 vol 0.5 2>/dev/null | cat >sox-pipe.wav
# ffmpeg: 24 bits from the s24 tone in 32-bit containers, with the
# extensible header that says so (ffmpeg 5.1 cannot read it back: the test
# compares it with s24.wav).
python3 - <<'PY'
import struct

def chunks(path):
    b = open(path, 'rb').read()
    assert b[:4] == b'RIFF' and b[8:12] == b'WAVE'
    out, i = [], 12
    while i + 8 <= len(b):
        cid, size = b[i:i+4], struct.unpack('<I', b[i+4:i+8])[0]
        out.append((cid, b[i+8:i+8+size]))
        i += 8 + size + (size & 1)
    return dict(out)

def chunk(cid, body):
    return cid + struct.pack('<I', len(body)) + body + (b'\0' if len(body) & 1 else b'')

def riff(*parts):
    body = b'WAVE' + b''.join(parts)
    return b'RIFF' + struct.pack('<I', len(body)) + body

GUID = b'\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71'

def extensible(tag, channels, rate, container, valid, mask):
    block = channels * container // 8
    return struct.pack('<HHIIHHHHI', 0xFFFE, channels, rate, rate * block, block, container,
                       22, valid, mask) + struct.pack('<H', tag) + GUID

s24 = chunks('s24.wav')[b'data']
samples = [int.from_bytes(s24[i:i+3], 'little', signed=True) for i in range(0, len(s24), 3)]

# 24 valid bits in 32-bit containers, left-justified as the specification says.
data = b''.join(struct.pack('<i', s << 8) for s in samples)
open('s24in32-ext.wav', 'wb').write(riff(chunk(b'fmt ', extensible(1, 1, 48000, 32, 24, 4)), chunk(b'data', data)))

# 20 valid bits in 24-bit containers: the s24 tone with its 4 low bits cleared.
data = b''.join(((s & ~0xF) & 0xFFFFFF).to_bytes(3, 'little') for s in samples)
open('s20in24-ext.wav', 'wb').write(riff(chunk(b'fmt ', extensible(1, 1, 48000, 24, 20, 4)), chunk(b'data', data)))

# A-law and µ-law with extensible headers (subformats 6 and 7).
for name, tag in (('alaw', 6), ('ulaw', 7)):
    data = chunks(name + '.wav')[b'data']
    open(name + '-ext.wav', 'wb').write(riff(chunk(b'fmt ', extensible(tag, 1, 8000, 8, 8, 4)), chunk(b'data', data)))

# Odd chunks: an odd-sized bext chunk before fmt, JUNK and an odd-sized
# unknown chunk between fmt and data, an odd number of 8-bit frames (odd data
# size, pad byte), then LIST and an odd-sized chunk after the data.
u8 = chunks('u8.wav')
data = u8[b'data'][:-1]
open('odd-chunks.wav', 'wb').write(riff(
    chunk(b'bext', b'hello'), chunk(b'fmt ', u8[b'fmt ']), chunk(b'JUNK', bytes(28)),
    chunk(b'abc ', b'xyz'), chunk(b'data', data),
    chunk(b'LIST', b'INFOISFT' + struct.pack('<I', 5) + b'test\0\0'), chunk(b'odd ', b'1')))

# Data size 0 (a writer that never came back to fill it in): until the end.
s16 = open('s16.wav', 'rb').read()
i = s16.index(b'data')
open('zero-size.wav', 'wb').write(s16[:4] + bytes(4) + s16[8:i+4] + bytes(4) + s16[i+8:])
PY
ls -l *.wav
