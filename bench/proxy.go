package main

// proxy.go is the WAN the lab does not have: the machines these benchmarks
// run on have no netem qdisc, so `tc` cannot add latency, and every lab host
// is one loopback hop away. A delaying TCP proxy in front of each lab sshd
// makes every round trip of the SSH conversation cost a chosen RTT.

import (
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// chunkSize is the most one read forwards as one chunk.
const chunkSize = 32 << 10

// inFlight is how many chunks one direction may hold while they wait out
// their delay. It bounds memory, and with 32 KiB chunks it is far more than
// an SSH conversation keeps in flight, so it never throttles one.
const inFlight = 512

// delayProxy forwards every connection accepted on its loopback listener to
// one target, holding each chunk for half the RTT in each direction. A
// chunk is stamped with its due time when it is read and released when
// due, so the delay adds latency without serializing throughput, as a real
// link pipelines. It also counts turns: times the client sends after it
// was delivered data since its last send, i.e. the sequential round trips
// the client waited for, as seen on the wire.
type delayProxy struct {
	ln     net.Listener
	target string
	oneWay time.Duration
	turns  atomic.Int64
	conns  atomic.Int64
	wg     sync.WaitGroup

	mu     sync.Mutex
	open   map[net.Conn]struct{}
	closed bool
}

// startProxy listens on host (a loopback address, port chosen by the
// kernel) and forwards to target with rtt/2 of delay each way.
func startProxy(host, target string, rtt time.Duration) (*delayProxy, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, err
	}
	p := &delayProxy{ln: ln, target: target, oneWay: rtt / 2, open: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Port is the port the proxy listens on.
func (p *delayProxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// Addr is host:port of the listener.
func (p *delayProxy) Addr() string { return p.ln.Addr().String() }

// Turns is the number of turns counted so far, over every connection.
func (p *delayProxy) Turns() int64 { return p.turns.Load() }

// Conns is the number of connections accepted so far.
func (p *delayProxy) Conns() int64 { return p.conns.Load() }

// Close stops accepting, cuts every open connection and waits until every
// goroutine of the proxy has returned.
func (p *delayProxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for c := range p.open {
		c.Close()
	}
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

// track registers c for Close; it refuses (and closes c) once the proxy
// is closing.
func (p *delayProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.open[c] = struct{}{}
	return true
}

func (p *delayProxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.open, c)
		c.Close()
	}
}

func (p *delayProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		if !p.track(c) {
			continue
		}
		p.conns.Add(1)
		p.wg.Add(1)
		go p.handle(c.(*net.TCPConn))
	}
}

// handle forwards one connection both ways until both directions ended,
// then closes both sides.
func (p *delayProxy) handle(client *net.TCPConn) {
	defer p.wg.Done()
	sc, err := net.Dial("tcp", p.target)
	if err != nil {
		p.untrack(client)
		return
	}
	if !p.track(sc) {
		p.untrack(client)
		return
	}
	server := sc.(*net.TCPConn)
	defer p.untrack(client, server)
	var replied atomic.Bool
	abort := func() { client.Close(); server.Close() }
	var both sync.WaitGroup
	both.Add(2)
	go func() {
		defer both.Done()
		delayedCopy(server, client, p.oneWay, abort, func() {
			if replied.Swap(false) {
				p.turns.Add(1)
			}
		}, nil)
	}()
	go func() {
		defer both.Done()
		delayedCopy(client, server, p.oneWay, abort, nil, func() { replied.Store(true) })
	}()
	both.Wait()
}

// chunk is data read at one moment, due for writing at due. A nil b is
// the end of the stream: eof for an orderly close (half-close the other
// side), otherwise an error (abort the connection).
type chunk struct {
	b   []byte
	due time.Time
	eof bool
}

// delayedCopy copies src to dst, each chunk delayed by delay from the
// moment it was read; bytes and order are kept. An orderly end of src
// half-closes dst (after the delay, like the data); a read or write error
// calls abort. onRead runs when a chunk was read, onDeliver when one is
// about to be written; either may be nil.
func delayedCopy(dst, src *net.TCPConn, delay time.Duration, abort, onRead, onDeliver func()) {
	ch := make(chan chunk, inFlight)
	go func() {
		defer close(ch)
		for {
			buf := make([]byte, chunkSize)
			n, err := src.Read(buf)
			if n > 0 {
				if onRead != nil {
					onRead()
				}
				ch <- chunk{b: buf[:n], due: time.Now().Add(delay)}
			}
			if err != nil {
				ch <- chunk{due: time.Now().Add(delay), eof: errors.Is(err, io.EOF)}
				return
			}
		}
	}()
	failed := false
	for c := range ch {
		if failed {
			continue // drain, so that the reader can finish
		}
		time.Sleep(time.Until(c.due))
		switch {
		case c.b == nil && c.eof:
			dst.CloseWrite()
		case c.b == nil:
			failed = true
			abort()
		default:
			if onDeliver != nil {
				onDeliver() // before the write: the peer may answer before Write returns
			}
			if _, err := dst.Write(c.b); err != nil {
				failed = true
				abort()
			}
		}
	}
}

// proxyTarget is host:port of a lab sshd.
func proxyTarget(addr string, port int) string {
	return net.JoinHostPort(addr, strconv.Itoa(port))
}
