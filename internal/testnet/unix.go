//go:build unix

package testnet

import (
	"net"
	"os"
	"syscall"
	"testing"
)

// UnixPair returns both ends of a connected Unix stream socket pair, as
// *net.UnixConn, closed when the test ends. A buf above zero sets each
// end's send and receive buffers to buf bytes (as far as the kernel
// allows): a socket that holds a large message at once.
func UnixPair(t testing.TB, buf int) (a, b net.Conn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ends [2]net.Conn
	for i, fd := range fds {
		if buf > 0 {
			syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF, buf)
			syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, buf)
		}
		f := os.NewFile(uintptr(fd), "unix")
		ends[i], err = net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { ends[0].Close(); ends[1].Close() })
	return ends[0], ends[1]
}
