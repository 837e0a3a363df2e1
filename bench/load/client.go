// Package load is the one load client used against every server: a
// hand-written WebSocket client on plain net.Conn, bufio and gobwas/ws's
// masking (ws.Cipher), identical for every library. Messages are framed and
// masked once per run and written with one Write each; echoes are parsed
// and discarded, so that the client costs as little as possible and the
// same for every server.
package load

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/gobwas/ws"
)

// Opcodes used by the client.
const (
	OpText   = 1
	OpBinary = 2
	opClose  = 8
	opPing   = 9
	opPong   = 10
)

// Conn is one client connection.
type Conn struct {
	nc      net.Conn
	br      *bufio.Reader
	Deflate bool // permessage-deflate was agreed
	// ServerNoContextTakeover is set when the server promised to compress
	// every message on its own.
	ServerNoContextTakeover bool
	hdr                     [14]byte
}

// DialOptions configures Dial.
type DialOptions struct {
	// LocalIP is the source address (a 127.0.0.x address spreads
	// connections over more source ports).
	LocalIP net.IP
	// ReadBufferSize sizes the bufio.Reader echoes are read through.
	ReadBufferSize int
	// Deflate offers permessage-deflate.
	Deflate bool
	// Timeout bounds the dial and handshake.
	Timeout time.Duration
	// TLS dials wss:// with ALPN http/1.1, without verifying the
	// server's certificate (the benchmark runs on loopback).
	TLS bool
}

var wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// Dial connects to ws://addr/ (wss:// with o.TLS) and does the opening
// handshake.
func Dial(ctx context.Context, addr string, o DialOptions) (*Conn, error) {
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.ReadBufferSize == 0 {
		o.ReadBufferSize = 64 << 10
	}
	d := net.Dialer{Timeout: o.Timeout}
	if o.LocalIP != nil {
		d.LocalAddr = &net.TCPAddr{IP: o.LocalIP}
	}
	var nc net.Conn
	var err error
	if o.TLS {
		td := tls.Dialer{NetDialer: &d, Config: &tls.Config{NextProtos: []string{"http/1.1"}, InsecureSkipVerify: true}}
		nc, err = td.DialContext(ctx, "tcp", addr)
	} else {
		nc, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	c, err := handshake(nc, addr, o)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

func handshake(nc net.Conn, addr string, o DialOptions) (*Conn, error) {
	nc.SetDeadline(time.Now().Add(o.Timeout))
	var k [16]byte
	rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	var req strings.Builder
	req.WriteString("GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
	req.WriteString("Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n")
	if o.Deflate {
		req.WriteString("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n")
	}
	req.WriteString("\r\n")
	if _, err := io.WriteString(nc, req.String()); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(nc, max(o.ReadBufferSize, 16))
	c := &Conn{nc: nc, br: br}
	status := true
	var accept bool
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("handshake: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if status {
			if !strings.HasPrefix(line, "HTTP/1.1 101") {
				return nil, fmt.Errorf("handshake: %q", line)
			}
			status = false
			continue
		}
		if line == "" {
			break
		}
		name, val, _ := strings.Cut(line, ":")
		val = strings.TrimSpace(val)
		switch strings.ToLower(name) {
		case "sec-websocket-accept":
			h := sha1.Sum([]byte(key + wsGUID))
			accept = val == base64.StdEncoding.EncodeToString(h[:])
		case "sec-websocket-extensions":
			for _, p := range strings.Split(val, ";") {
				switch strings.TrimSpace(p) {
				case "permessage-deflate":
					c.Deflate = true
				case "server_no_context_takeover":
					c.ServerNoContextTakeover = true
				}
			}
		}
	}
	if !accept {
		return nil, errors.New("handshake: bad Sec-WebSocket-Accept")
	}
	nc.SetDeadline(time.Time{})
	return c, nil
}

// Close closes the connection without a closing handshake.
func (c *Conn) Close() error { return c.nc.Close() }

// Interrupt makes blocked reads and writes return at once.
func (c *Conn) Interrupt() {
	c.nc.SetDeadline(time.Unix(1, 0))
}

// Write writes a prebuilt frame.
func (c *Conn) Write(frame []byte) error {
	_, err := c.nc.Write(frame)
	return err
}

// Frame is one received data message's header.
type Frame struct {
	Op     byte
	RSV1   bool
	Length int64
}

// ReadEcho reads the next data message, which may come in fragments, and
// discards its payload, or copies it into keep when keep is not nil (keep
// must be large enough). Pings are answered, pongs skipped.
func (c *Conn) ReadEcho(keep []byte) (Frame, error) {
	var msg Frame
	started := false
	for {
		h, err := c.readHeader()
		if err != nil {
			return msg, err
		}
		switch h.Op {
		case opPing:
			var p [125]byte
			if h.Length > 125 {
				return msg, errors.New("long ping")
			}
			if _, err := io.ReadFull(c.br, p[:h.Length]); err != nil {
				return msg, err
			}
			c.nc.Write(BuildFrame(opPong, false, p[:h.Length]))
			continue
		case opPong:
			c.br.Discard(int(h.Length))
			continue
		case opClose:
			return msg, errors.New("close frame from server")
		case 0:
			if !started {
				return msg, errors.New("continuation frame outside a message")
			}
		default:
			if started {
				return msg, errors.New("new message inside a fragmented one")
			}
			started = true
			msg.Op, msg.RSV1 = h.Op, h.RSV1
		}
		if keep != nil {
			_, err = io.ReadFull(c.br, keep[msg.Length:msg.Length+h.Length])
		} else {
			_, err = c.br.Discard(int(h.Length))
		}
		msg.Length += h.Length
		if err != nil || h.fin {
			return msg, err
		}
	}
}

type header struct {
	Frame
	fin bool
}

func (c *Conn) readHeader() (header, error) {
	b, err := c.br.Peek(2)
	if err != nil {
		return header{}, err
	}
	h := header{Frame: Frame{Op: b[0] & 0xF, RSV1: b[0]&0x40 != 0}, fin: b[0]&0x80 != 0}
	if b[1]&0x80 != 0 {
		return h, errors.New("masked frame from server")
	}
	n := 2
	switch b[1] & 0x7F {
	case 126:
		n = 4
	case 127:
		n = 10
	}
	if n > 2 {
		if b, err = c.br.Peek(n); err != nil {
			return h, err
		}
	}
	switch n {
	case 2:
		h.Length = int64(b[1] & 0x7F)
	case 4:
		h.Length = int64(binary.BigEndian.Uint16(b[2:]))
	case 10:
		h.Length = int64(binary.BigEndian.Uint64(b[2:]))
	}
	c.br.Discard(n)
	return h, nil
}

// mask is the fixed masking key of every prebuilt frame. Servers cannot
// tell; a real client would pick a new key per frame.
var mask = [4]byte{0x1f, 0x2e, 0x3d, 0x4c}

// BuildFrame frames and masks payload as one final frame.
func BuildFrame(op byte, rsv1 bool, payload []byte) []byte {
	h := ws.Header{Fin: true, OpCode: ws.OpCode(op), Masked: true, Mask: mask, Length: int64(len(payload))}
	if rsv1 {
		h.Rsv = ws.Rsv(true, false, false)
	}
	var hb bytes.Buffer
	ws.WriteHeader(&hb, h)
	f := append(hb.Bytes(), payload...)
	ws.Cipher(f[hb.Len():], mask, 0)
	return f
}

// Compress deflates p as one permessage-deflate message with no context
// (RFC 7692, Section 7.2.1): valid whatever the server agreed to.
func Compress(p []byte) []byte {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestSpeed)
	w.Write(p)
	w.Flush()
	out := b.Bytes()
	return bytes.TrimSuffix(out, []byte{0, 0, 0xff, 0xff})
}

// Decompress inflates one compressed message that used no earlier context.
func Decompress(p []byte) ([]byte, error) {
	r := flate.NewReader(io.MultiReader(bytes.NewReader(p), bytes.NewReader([]byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff})))
	return io.ReadAll(r)
}

// IsAddrShortage reports whether err means the source address ran out of
// ports.
func IsAddrShortage(err error) bool {
	return errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EADDRINUSE)
}
