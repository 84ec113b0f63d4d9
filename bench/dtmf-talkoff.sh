#!/usr/bin/env bash
# Measures DTMF talk-off: digits that the detector (internal/dtmf, the
# digits sink) finds in speech and music that hold none. It synthesises
# speech with espeak-ng, reading the license texts in
# /usr/share/common-licenses in chunks of CHUNK words, each chunk with the
# next of 12 voices, speeds and pitches, up to WORDS words in all; it takes
# the speech and music of Debian packages found under /usr/share (alsa-utils'
# spoken channel names, sound themes, lincity-ng-data's music and sounds:
# `apt-get install alsa-utils sound-theme-freedesktop gnome-audio
# lincity-ng-data` to add them). Every set goes through two phone paths,
# 8 kHz G.711 µ-law (as a call's ulaw listen format) and 16 kHz linear, into
# `elkspipe '... | digits'`. It prints each false digit with its time and
# the hours listened to, and the false digits per hour. Usage:
#
#	bench/dtmf-talkoff.sh                 # about 60 min of speech
#	WORDS=30000 bench/dtmf-talkoff.sh     # all the texts: about 157 min
#	WORDS=3000 bench/dtmf-talkoff.sh      # a shorter run
set -euo pipefail
cd "$(dirname "$0")/.."

words=${WORDS:-10000}
chunk=${CHUNK:-400}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for tool in espeak-ng sox go; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "dtmf-talkoff.sh: $tool is needed (apt-get install -y espeak-ng sox)" >&2
		exit 1
	fi
done
go build -o "$tmp/elkspipe" ./cmd/elkspipe
elkspipe=$tmp/elkspipe

# Speech: the license texts, chunk by chunk, each read by the next voice.
voices=(en en-us+f3 en-gb-x-rp+m3 sv+f2 de+m7 fr+f4 es+m1 en-us+klatt en+f5 nl+m4 it+f1 en-gb+croak)
speeds=(175 140 220 160 190 130 250 170 150 200 180 165)
pitches=(50 70 35 60 45 80 50 25 65 40 55 50)
cat /usr/share/common-licenses/{GPL-3,Apache-2.0,MPL-2.0,GFDL-1.3,LGPL-2.1,Artistic,MPL-1.1,GPL-2} 2>/dev/null |
	tr -s '[:space:]' ' ' | tr ' ' '\n' | awk -v n="$words" 'NR <= n' | split -l "$chunk" - "$tmp/text."
i=0
list=()
for t in "$tmp"/text.*; do
	v=$((i % ${#voices[@]}))
	espeak-ng -v "${voices[$v]}" -s "${speeds[$v]}" -p "${pitches[$v]}" -w "$tmp/speech.$i.wav" -f "$t"
	list+=("$tmp/speech.$i.wav")
	i=$((i + 1))
done
sox "${list[@]}" -r 22050 -c 1 -b 16 "$tmp/speech.wav"

# Debian's speech and music, whatever of it is installed, as one mono file.
debian=()
while IFS= read -r -d '' f; do
	out="$tmp/debian.${#debian[@]}.wav"
	if ffmpeg -v error -nostdin -i "$f" -ac 1 -ar 22050 -sample_fmt s16 "$out" 2>/dev/null; then
		debian+=("$out")
	fi
done < <(find /usr/share/sounds /usr/share/games/lincity-ng -type f \( -iname '*.wav' -o -iname '*.ogg' -o -iname '*.oga' -o -iname '*.flac' \) -print0 2>/dev/null | sort -z)
sets=(speech)
if [ ${#debian[@]} -gt 0 ]; then
	sox "${debian[@]}" "$tmp/debian.wav"
	sets+=(debian)
fi

total_hours=0
total_false=0
for set in "${sets[@]}"; do
	secs=$(soxi -D "$tmp/$set.wav")
	for path in ulaw8k pcm16k; do
		case $path in
		ulaw8k)
			"$elkspipe" "file $tmp/$set.wav | raw - enc=ulaw rate=8k channels=1" |
				"$elkspipe" "raw - enc=ulaw rate=8k | digits" >"$tmp/found" ;;
		pcm16k)
			"$elkspipe" "file $tmp/$set.wav | resample 16k | digits" >"$tmp/found" ;;
		esac
		n=$(wc -l <"$tmp/found")
		sed "s/^/  false digit: $set $path /" "$tmp/found"
		printf '%-7s %-7s %8.1f min  %d false digits\n' "$set" "$path" "$(echo "$secs / 60" | bc -l)" "$n"
		total_hours=$(echo "$total_hours + $secs / 3600" | bc -l)
		total_false=$((total_false + n))
	done
done
printf 'total: %.2f h of audio listened to, %d false digits, %.2f per hour\n' \
	"$total_hours" "$total_false" "$(echo "$total_false / $total_hours" | bc -l)"
