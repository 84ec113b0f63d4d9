module github.com/elkspipe/elkspipe

go 1.26.8

require (
	github.com/coder/websocket v1.8.14
	github.com/hajimehoshi/go-mp3 v0.3.4
)
