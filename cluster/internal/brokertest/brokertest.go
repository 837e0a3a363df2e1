// Package brokertest runs real brokers on the loopback interface for the
// tests and the benchmark: a NATS server in process, and a redis-server
// child process. Each can be stopped and started again on the same port,
// to take the broker away from the nodes for a while.
package brokertest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Broker is a running broker that can be stopped and started again.
type Broker interface {
	URL() string
	Stop()
	Start() error
}

// Start starts the broker of the given kind, "nats" or "redis", stopped at
// the end of the test. A broker that cannot run here (no redis-server)
// skips the test, or fails it under CI=true.
func Start(t testing.TB, kind string) Broker {
	t.Helper()
	var b Broker
	var err error
	switch kind {
	case "nats":
		b, err = StartNATS()
	case "redis":
		b, err = StartRedis()
	default:
		t.Fatalf("brokertest: unknown broker %q", kind)
	}
	if errors.Is(err, exec.ErrNotFound) && os.Getenv("CI") != "true" {
		t.Skipf("%v (install the Debian package redis-server)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	return b
}

// NATS is an in-process NATS server.
type NATS struct {
	port int
	srv  *server.Server
}

// StartNATS starts a NATS server on a free loopback port.
func StartNATS() (*NATS, error) {
	n := &NATS{port: -1}
	return n, n.Start()
}

// Start starts the server (again, on the same port).
func (n *NATS) Start() error {
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: n.port, NoLog: true, NoSigs: true})
	if err != nil {
		return fmt.Errorf("brokertest: nats server: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return errors.New("brokertest: nats server not ready in 10s")
	}
	n.srv = srv
	n.port = srv.Addr().(*net.TCPAddr).Port
	return nil
}

// URL returns the server's client URL.
func (n *NATS) URL() string { return "nats://127.0.0.1:" + strconv.Itoa(n.port) }

// Stop shuts the server down, closing every client connection.
func (n *NATS) Stop() {
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
		n.srv = nil
	}
}

// Redis is a redis-server child process without persistence.
type Redis struct {
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

// StartRedis starts redis-server on a free loopback port.
func StartRedis() (*Redis, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, fmt.Errorf("brokertest: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Redis{port: ln.Addr().(*net.TCPAddr).Port}
	ln.Close()
	return r, r.Start()
}

// Start starts the server (again, on the same port).
func (r *Redis) Start() error {
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--protected-mode", "no", "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("brokertest: %w", err)
	}
	r.cmd, r.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(r.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ping(r.port) {
			return nil
		}
		select {
		case <-r.done:
			return fmt.Errorf("brokertest: redis-server on port %d exited: %v", r.port, cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			r.Stop()
			return errors.New("brokertest: redis-server not ready in 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ping reports whether a Redis server answers PING on port.
func ping(port int) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}

// URL returns the server's URL.
func (r *Redis) URL() string { return "redis://127.0.0.1:" + strconv.Itoa(r.port) }

// Stop kills the server.
func (r *Redis) Stop() {
	if r.cmd != nil {
		r.cmd.Process.Kill()
		<-r.done
		r.cmd = nil
	}
}
