module github.com/elkspipe/elkspipe

go 1.26.8

require github.com/hajimehoshi/go-mp3 v0.3.4

require github.com/go-audio/audio v1.0.0
