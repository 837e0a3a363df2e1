module github.com/hybi-go/hybi/bench

go 1.26.0

replace github.com/hybi-go/hybi => ../

require (
	github.com/coder/websocket v1.8.15
	github.com/gobwas/ws v1.5.0
	github.com/gorilla/websocket v1.5.3
	github.com/hybi-go/hybi v0.0.0-00010101000000-000000000000
	github.com/lxzan/gws v1.8.9
	golang.org/x/net v0.63.0
	golang.org/x/sys v0.50.0
)

require (
	github.com/dolthub/maphash v0.1.0 // indirect
	github.com/gobwas/httphead v0.1.0 // indirect
	github.com/klauspost/compress v1.20.4 // indirect
	golang.org/x/text v0.44.0 // indirect
)
