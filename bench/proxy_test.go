package main

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// echoServer accepts one connection, and for it: reads everything the
// client sends until its half-close, then writes it back reversed in
// order of arrival (the bytes unchanged) and closes.
func echoServer(t *testing.T) (addr string, got chan []byte) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got = make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c) // ends at the client's half-close
		got <- b
		c.Write(b)
	}()
	return ln.Addr().String(), got
}

func dialProxy(t *testing.T, target string, rtt time.Duration) (*delayProxy, *net.TCPConn) {
	t.Helper()
	p, err := startProxy("127.0.0.1", target, rtt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return p, c.(*net.TCPConn)
}

func TestProxyKeepsBytesOrderAndHalfClose(t *testing.T) {
	target, got := echoServer(t)
	_, c := dialProxy(t, target, 10*time.Millisecond)
	var want []byte
	for i := 0; i < 200; i++ { // many writes, some larger than one chunk
		b := bytes.Repeat([]byte{byte(i)}, 1+i*400)
		want = append(want, b...)
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	back, err := io.ReadAll(c) // the server answers after our half-close, then closes
	if err != nil {
		t.Fatal(err)
	}
	if srv := <-got; !bytes.Equal(srv, want) {
		t.Fatalf("server got %d bytes, not the %d sent in order", len(srv), len(want))
	}
	if !bytes.Equal(back, want) {
		t.Fatalf("client got %d bytes back, not the %d sent in order", len(back), len(want))
	}
}

func TestProxyDelaysHalfTheRTTEachWay(t *testing.T) {
	const rtt = 80 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	arrived := make(chan time.Time, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b := make([]byte, 1)
		if _, err := io.ReadFull(c, b); err != nil {
			return
		}
		arrived <- time.Now()
		c.Write(b)
		io.Copy(io.Discard, c)
	}()
	p, c := dialProxy(t, ln.Addr().String(), rtt)
	sent := time.Now()
	if _, err := c.Write([]byte{'x'}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	back := time.Since(sent)
	if there := (<-arrived).Sub(sent); there < rtt/2 {
		t.Errorf("client to server took %v, want at least %v", there, rtt/2)
	}
	if back < rtt {
		t.Errorf("round trip took %v, want at least %v", back, rtt)
	}
	// One more send after the reply: the second turn of the conversation.
	if _, err := c.Write([]byte{'y'}); err != nil {
		t.Fatal(err)
	}
	c.CloseWrite()
	deadline := time.Now().Add(5 * time.Second)
	for p.Turns() != 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if p.Turns() != 1 || p.Conns() != 1 {
		t.Errorf("turns %d, conns %d; want 1 turn (the send after the reply), 1 conn", p.Turns(), p.Conns())
	}
}

func TestProxyPipelinesInsteadOfSerializingTheDelay(t *testing.T) {
	// 100 writes 1 ms apart through a 200 ms RTT: delivered in about
	// 100 ms + 100 ms if pipelined, 100 × 100 ms = 10 s if each waited for
	// the one before. Only a loose bound, far from both, is asserted.
	const rtt = 200 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan time.Time, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(io.Discard, c)
		done <- time.Now()
	}()
	_, c := dialProxy(t, ln.Addr().String(), rtt)
	start := time.Now()
	for i := 0; i < 100; i++ {
		c.Write([]byte{byte(i)})
		time.Sleep(time.Millisecond)
	}
	c.CloseWrite()
	if took := (<-done).Sub(start); took > 20*rtt {
		t.Errorf("100 spaced writes took %v through the proxy: the delay is serialized", took)
	}
}
