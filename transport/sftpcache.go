package transport

// sftpCache keeps the SFTP clients of one host: one per become user (""
// for the login user), shared by every view of the connection. SSH and
// local connections both use it, so the rules are the same everywhere: a
// client is opened once and concurrent first callers wait for that one
// open; a failed open is not kept (the next call tries again); a client
// whose session ends is dropped; closeAll closes every client.

import (
	"context"
	"errors"
	"sync"

	"github.com/pkg/sftp"
)

type sftpCache struct {
	mu     sync.Mutex
	closed bool
	slots  map[string]*sftpSlot
}

type sftpSlot struct {
	ready  chan struct{}
	client *sftp.Client
	// closer ends the client (and a sudo'd sftp-server behind it).
	closer func()
	err    error
}

// sftpOpener opens a client for one user and says how to close it.
type sftpOpener func(ctx context.Context) (*sftp.Client, func(), error)

func newSFTPCache() *sftpCache { return &sftpCache{slots: map[string]*sftpSlot{}} }

// get returns the client for key, opening it with open on first use.
func (c *sftpCache) get(ctx context.Context, key string, open sftpOpener) (*sftp.Client, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, errors.New("connection closed")
	}
	slot, ok := c.slots[key]
	if !ok {
		slot = &sftpSlot{ready: make(chan struct{})}
		c.slots[key] = slot
		c.mu.Unlock()
		slot.client, slot.closer, slot.err = open(ctx)
		close(slot.ready)
		if slot.err != nil {
			c.drop(key, slot) // not cached: a later call tries again
		} else {
			go func() {
				slot.client.Wait()
				c.drop(key, slot)
			}()
		}
	} else {
		c.mu.Unlock()
		select {
		case <-slot.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if slot.err != nil {
		return nil, slot.err
	}
	return slot.client, nil
}

func (c *sftpCache) drop(key string, slot *sftpSlot) {
	c.mu.Lock()
	if c.slots[key] == slot {
		delete(c.slots, key)
	}
	c.mu.Unlock()
}

// closeAll closes every open client. With final, the cache refuses later
// opens (the connection itself is closed); without, a later call opens anew.
func (c *sftpCache) closeAll(final bool) {
	c.mu.Lock()
	c.closed = c.closed || final
	slots := c.slots
	c.slots = map[string]*sftpSlot{}
	c.mu.Unlock()
	for _, s := range slots {
		select {
		case <-s.ready:
			if s.closer != nil {
				s.closer()
			}
		default:
		}
	}
}
