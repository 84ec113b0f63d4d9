module github.com/elkspipe/elkspipe

go 1.26.8
