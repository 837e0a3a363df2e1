//go:build !linux

package servers

// The floor needs epoll; elsewhere it is not registered.
