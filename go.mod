module github.com/elkspipe/elkspipe

go 1.26

toolchain go1.26.8

require (
	github.com/coder/websocket v1.8.14
	github.com/go-audio/audio v1.0.0
	github.com/hajimehoshi/go-mp3 v0.3.4
)

require (
	github.com/go-audio/wav v1.1.0
	github.com/hraban/opus v0.0.0-20260708213942-bde8e4304501
)

require github.com/go-audio/riff v1.0.0 // indirect
