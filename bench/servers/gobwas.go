package servers

import (
	"errors"
	"io"
	"net"

	"github.com/gobwas/ws"
)

func init() {
	register(&Lib{
		Name:  "gobwas",
		Notes: "net.Listener + ws.Upgrade, then the README's low-level loop: ws.ReadHeader and io.ReadFull on the net.Conn, ws.Cipher, ws.WriteHeader then Write (header and payload in two writes)",
		Serve: serveGobwas,
	})
}

func serveGobwas(ln net.Listener, o Options) error {
	return serveGobwasConns(ln, o, gobwasEcho)
}

// serveGobwasConns accepts connections on ln, each in its own goroutine:
// ws.Upgrade, then handle, then Close.
func serveGobwasConns(ln net.Listener, o Options, handle func(net.Conn)) error {
	if o.Deflate {
		return errors.New("gobwas: permessage-deflate not benchmarked")
	}
	for {
		nc, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer nc.Close()
			if _, err := ws.Upgrade(nc); err != nil {
				return
			}
			handle(nc)
		}()
	}
}

// gobwasEcho is the README's low-level loop, plus the ping and close
// handling it leaves out.
func gobwasEcho(nc net.Conn) {
	for {
		h, err := ws.ReadHeader(nc)
		if err != nil {
			return
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(nc, payload); err != nil {
			return
		}
		if h.Masked {
			ws.Cipher(payload, h.Mask, 0)
		}
		h.Masked = false
		switch h.OpCode {
		case ws.OpClose:
			return
		case ws.OpPing:
			h.OpCode = ws.OpPong
		case ws.OpPong:
			continue
		}
		if err := ws.WriteHeader(nc, h); err != nil {
			return
		}
		if _, err := nc.Write(payload); err != nil {
			return
		}
	}
}
