//go:build linux

package nbsys

import (
	"syscall"
	"testing"
)

// TestEpoll registers both ends of a socket pair, edge-triggered, with
// the data each carries, and checks what EpollReady reports as they turn
// readable, after MOD and DEL, and for bad arguments.
func TestEpoll(t *testing.T) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(epfd)
	a, b := pair(t)
	for i, fd := range []int{a, b} {
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | -syscall.EPOLLET, Fd: int32(fd), Pad: int32(100 + i)}
		if errno := EpollCtl(epfd, syscall.EPOLL_CTL_ADD, fd, &ev); errno != 0 {
			t.Fatalf("EpollCtl ADD %d: %v", fd, errno)
		}
	}
	events := make([]syscall.EpollEvent, 4)
	ready := func() []int32 {
		t.Helper()
		n, errno := EpollReady(epfd, events)
		if errno != 0 {
			t.Fatalf("EpollReady: %d, %v", n, errno)
		}
		var pads []int32
		for _, ev := range events[:n] {
			pads = append(pads, ev.Pad)
		}
		return pads
	}
	if got := ready(); len(got) != 0 {
		t.Fatalf("EpollReady with nothing written = %v, want none", got)
	}
	Write(a, []byte("to b"))
	if got := ready(); len(got) != 1 || got[0] != 101 {
		t.Fatalf("EpollReady after a write to b = %v, want [101]", got)
	}
	// Edge-triggered: reported once, until more arrives.
	if got := ready(); len(got) != 0 {
		t.Fatalf("EpollReady again = %v, want none (edge-triggered)", got)
	}
	// MOD re-arms, and carries the new data.
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | -syscall.EPOLLET, Fd: int32(b), Pad: 7}
	if errno := EpollCtl(epfd, syscall.EPOLL_CTL_MOD, b, &ev); errno != 0 {
		t.Fatalf("EpollCtl MOD: %v", errno)
	}
	if got := ready(); len(got) != 1 || got[0] != 7 {
		t.Fatalf("EpollReady after MOD of a readable socket = %v, want [7]", got)
	}
	// DEL takes b out: what arrives for it is not reported; a still is.
	if errno := EpollCtl(epfd, syscall.EPOLL_CTL_DEL, b, nil); errno != 0 {
		t.Fatalf("EpollCtl DEL: %v", errno)
	}
	Write(a, []byte("more"))
	Write(b, []byte("to a"))
	if got := ready(); len(got) != 1 || got[0] != 100 {
		t.Fatalf("EpollReady after DEL of b and writes to both = %v, want [100]", got)
	}
	if errno := EpollCtl(epfd, syscall.EPOLL_CTL_DEL, b, nil); errno != syscall.ENOENT {
		t.Errorf("EpollCtl DEL of a socket not in the set = %v, want ENOENT", errno)
	}
	if n, errno := EpollReady(a, events); errno != syscall.EINVAL || n != -1 {
		t.Errorf("EpollReady on a socket = %d, %v; want -1, EINVAL", n, errno)
	}
	if n, errno := EpollReady(epfd, nil); errno != syscall.EINVAL || n != -1 {
		t.Errorf("EpollReady with no room = %d, %v; want -1, EINVAL", n, errno)
	}
}
