package conn_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/raw"
)

// loopConn is a net.Conn with no goroutine behind it: reads replay one
// frame forever, writes are discarded. It lets a benchmark count the
// instructions of the read and write paths alone (valgrind --tool=callgrind),
// without a scheduler's varying share.
type loopConn struct {
	net.Conn // nil: only what raw uses is implemented
	frame    []byte
	off      int
}

func (l *loopConn) Read(p []byte) (int, error) {
	n := copy(p, l.frame[l.off:])
	l.off = (l.off + n) % len(l.frame)
	return n, nil
}
func (l *loopConn) Write(p []byte) (int, error)      { return len(p), nil }
func (l *loopConn) Close() error                     { return nil }
func (l *loopConn) SetReadDeadline(time.Time) error  { return nil }
func (l *loopConn) SetWriteDeadline(time.Time) error { return nil }
func (l *loopConn) SetDeadline(time.Time) error      { return nil }

// benchReadWrite reads one 16-byte masked message and writes one back per
// iteration, on a server Conn with options o.
func benchReadWrite(b *testing.B, o *conn.Options) {
	msg := []byte("0123456789abcdef")
	f := frame.AppendHeader(nil, frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true, Mask: [4]byte{1, 2, 3, 4}, Length: int64(len(msg))})
	p := append([]byte(nil), msg...)
	frame.Mask([4]byte{1, 2, 3, 4}, 0, p)
	lc := &loopConn{frame: append(f, p...)}
	s := conn.New(raw.New(lc, nil, raw.Server, nil), "", o)
	buf := make([]byte, 64)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_, r, err := s.Reader(ctx)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.ReadFull(r, buf[:len(msg)])
		if err := s.Write(ctx, conn.MessageBinary, buf[:n]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadWriteLoop is one message read and one written, without
// and with an observer.
func BenchmarkReadWriteLoop(b *testing.B) {
	b.Run("none", func(b *testing.B) { benchReadWrite(b, nil) })
	b.Run("counters", func(b *testing.B) { benchReadWrite(b, &conn.Options{Observer: new(conn.Counters)}) })
}
